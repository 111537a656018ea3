/*
 * argv: a strict, non-expanding shell-style word splitter.
 */
#include <stdlib.h>
#include <string.h>

#include "argv.h"
#include "err.h"
#include "text.h"

/* Unquoted, these would make a shell do something other than pass a word. */
static const char shell_special[] = "$`;&|<>()*?[";

/* "WHY 'c'[: HINT]", with control characters as \xNN. */
static int
refuse_char(const char *why, unsigned char c, const char *hint)
{
	if (c < 0x20 || c == 0x7f)
		return err_set(ERR_USAGE, "%s \\x%02x", why, c);
	return err_set(ERR_USAGE, "%s '%c'%s%s", why, c, hint ? ": " : "",
	    hint ? hint : "");
}

int
argv_split(const char *line, size_t len, struct argv *out)
{
	char *buf = NULL, **words = NULL, *o;
	size_t i;
	int argc = 0, inword = 0, rc = -1;
	unsigned char c;

	memset(out, 0, sizeof(*out));
	if (len > ARGV_MAX_LEN)
		return err_set(ERR_USAGE, "command too long (%zu bytes, the "
		    "limit is %d)", len, ARGV_MAX_LEN);
	for (i = 0; i < len; i++) {
		c = (unsigned char)line[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return refuse_char("command contains the control "
			    "character", c, NULL);
	}
	if (!text_utf8_valid(line, len))
		return err_set(ERR_USAGE, "command is not valid UTF-8");
	/* Words never grow: the text itself bounds the storage. */
	if ((buf = malloc(len + 1)) == NULL ||
	    (words = calloc(ARGV_MAX_WORDS + 1, sizeof(*words))) == NULL) {
		err_set(ERR_SYS, "out of memory");
		goto out;
	}
	o = buf;
	for (i = 0; i < len; i++) {
		c = (unsigned char)line[i];
		if (c == ' ' || c == '\t') {
			if (inword) {
				*o++ = '\0';
				inword = 0;
			}
			continue;
		}
		if (!inword) {
			if (argc == ARGV_MAX_WORDS) {
				err_set(ERR_USAGE, "too many words (the limit "
				    "is %d)", ARGV_MAX_WORDS);
				goto out;
			}
			words[argc++] = o;
			inword = 1;
			if (c == '#' || c == '~') {
				refuse_char("unquoted word start", c,
				    "a shell would expand it; quote it");
				goto out;
			}
		}
		if (c == '\'') {
			for (i++; i < len && line[i] != '\''; i++)
				*o++ = line[i];
			if (i == len) {
				err_set(ERR_USAGE, "unterminated single quote");
				goto out;
			}
		} else if (c == '"') {
			for (i++; i < len && line[i] != '"'; i++) {
				c = (unsigned char)line[i];
				if (c == '\\' && i + 1 < len &&
				    strchr("\\\"$`", line[i + 1]))
					c = (unsigned char)line[++i];
				else if (c == '$' || c == '`') {
					refuse_char("unescaped character inside "
					    "double quotes", c, "a shell would expand "
					    "it; use single quotes");
					goto out;
				}
				*o++ = (char)c;
			}
			if (i == len) {
				err_set(ERR_USAGE, "unterminated double quote");
				goto out;
			}
		} else if (c == '\\') {
			if (++i == len) {
				err_set(ERR_USAGE, "trailing backslash");
				goto out;
			}
			*o++ = line[i];
		} else if (strchr(shell_special, c)) {
			refuse_char("unquoted special character", c,
			    "gate-shell runs no shell; quote it");
			goto out;
		} else {
			*o++ = (char)c;
		}
	}
	if (inword)
		*o = '\0';
	out->argc = argc;
	out->argv = words;
	out->buf = buf;
	words = NULL;
	buf = NULL;
	rc = 0;
out:
	free(words);
	free(buf);
	return rc;
}

void
argv_free(struct argv *a)
{
	if (a == NULL)
		return;
	free(a->argv);
	free(a->buf);
	memset(a, 0, sizeof(*a));
}
