/*
 * libFuzzer target: gate.ini as inih and our checks see it. A config that
 * loads has absolute paths and a gate_shell authkeys-cmd may print.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config *c;
	char *text;

	if (size > CONFIG_MAX_SIZE || memchr(data, '\0', size))
		return 0;	/* config_load() refuses these before parsing */
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if ((c = config_parse("fuzz.ini", text)) != NULL) {
		if (c->state_dir[0] != '/' || c->database[0] != '/' ||
		    !config_path_plain(c->gate_shell))
			abort();
		config_free(c);
	}
	free(text);
	return 0;
}
