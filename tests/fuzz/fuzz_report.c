// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the report loader and the report tools on arbitrary
 * bytes.  A report either fails rpt_load with a message (the tools exit 2)
 * or is safe for show, compare and gate to read: no crash, leak or
 * undefined behaviour (built with ASan and UBSan).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "log.h"
#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd = open("/dev/null", O_WRONLY);

	(void)argc;
	(void)argv;
	/*
	 * The tools print tables and errors; the fuzzer only cares that they
	 * survive.  stderr stays for libFuzzer and the sanitizers.
	 */
	bb_verbosity = -1;
	if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
		abort();
	close(fd);
	snprintf(path, sizeof(path), "/tmp/bb-fuzz-report.%d.json", getpid());
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *argv[4], err[1024];
	json_t *r;
	FILE *fp = fopen(path, "w");

	if (!fp)
		abort();
	if (fwrite(data, 1, size, fp) != size || fclose(fp))
		abort();
	err[0] = '\0';
	r = rpt_load(path, err, sizeof(err));
	if (!r) {
		if (!err[0])
			abort();
		goto out;
	}
	json_decref(r);
	argv[0] = path;
	cmd_show(1, argv);
	argv[1] = path;
	cmd_compare(2, argv);
	argv[0] = "--baseline";
	argv[1] = path;
	argv[2] = path;
	cmd_gate(3, argv);
out:
	unlink(path);
	return 0;
}
