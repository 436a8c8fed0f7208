/* SPDX-License-Identifier: MIT */
/*
 * fuzz_main.c - the libFuzzer entry: one input, one instance, the shadow
 * model checks every result. A violation traps so libFuzzer saves the input.
 */
#include "fuzz_ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (pmm_fuzz_one(data, size, false))
		__builtin_trap();
	return 0;
}
