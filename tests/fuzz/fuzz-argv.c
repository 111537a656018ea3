/*
 * libFuzzer target: the SSH_ORIGINAL_COMMAND tokenizer. Whatever the
 * bytes, it returns words or a usage error, never reads or writes out of
 * bounds, and every word it returns is free of control bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "argv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct argv a;
	int i;

	if (argv_split((const char *)data, size, &a) == 0) {
		for (i = 0; i < a.argc; i++)
			for (const char *p = a.argv[i]; *p; p++)
				if ((unsigned char)*p < 0x20 && *p != '\t')
					abort();
		if (a.argv[a.argc] != NULL)
			abort();
	}
	argv_free(&a);
	return 0;
}
