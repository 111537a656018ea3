/*
 * libFuzzer target: lib/cast both ways. The input is written as output
 * events split at fuzzed points; every line written must parse back, and
 * the text must be valid UTF-8. The input is also fed to the event
 * parser as a line, which must never read past it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cast.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cast_writer w;
	static char file[1 << 20], text[1 << 20], term[256];
	char type;
	long long t;
	size_t i, k, n, len;
	ssize_t r;
	int fd;

	if (size > 4096)
		return 0;
	(void)cast_parse_event((const char *)data, size, &t, &type, text, &n);
	if ((fd = memfd_create("fuzz", 0)) == -1)
		return 0;
	if (cast_open(&w, fd) == -1)
		abort();
	/* TERM is a C string: the first bytes, up to a NUL. */
	memcpy(term, data, size < sizeof(term) - 1 ? size : sizeof(term) - 1);
	term[size < sizeof(term) - 1 ? size : sizeof(term) - 1] = '\0';
	cast_header(&w, 80, 24, 0, term, NULL);
	for (i = 0; i < size; i += k) {
		k = 1 + data[i] % 7;
		if (k > size - i)
			k = size - i;
		cast_event(&w, (long long)i, i % 5 ? 'o' : 'i',
		    (const char *)data + i, k);
	}
	cast_finish(&w, (long long)size);
	cast_close(&w);
	lseek(fd, 0, SEEK_SET);
	r = read(fd, file, sizeof(file));
	close(fd);
	if (r <= 0)
		abort();
	len = (size_t)r;
	for (i = 0; i < len; i = k + 1) {
		const char *nl = memchr(file + i, '\n', len - i);
		if (nl == NULL)
			abort();
		k = (size_t)(nl - file);
		if (!text_utf8_valid(file + i, k - i))
			abort();
		if (i > 0 && cast_parse_event(file + i, k - i, &t, &type, text,
		    &n) == -1)
			abort();
	}
	return 0;
}
