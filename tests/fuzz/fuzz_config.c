// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the scenario loader (config.c) on arbitrary bytes.
 * Whatever the input, cfg_load_string either loads a scenario that
 * validates or returns an error with a message; never a crash, a leak or
 * undefined behaviour (built with ASan and UBSan).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bb_config cfg;
	char err[1024], *text = malloc(size + 1);
	int i;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	err[0] = '\0';
	if (cfg_load_string(text, "fuzz.json", &cfg, err, sizeof(err))) {
		if (!err[0])
			abort();	/* every error must say something */
	} else {
		if (cfg_validate(&cfg, err, sizeof(err)))
			abort();	/* loaded means valid */
		for (i = 0; i < cfg.nrows; i++) {
			struct bb_config row = cfg;

			cfg_row_name(&cfg, i, err, sizeof(err));
			if (cfg_apply_row(&row, i))
				abort();	/* rows were validated */
		}
		json_decref(cfg_to_json(&cfg));
	}
	free(text);
	return 0;
}
