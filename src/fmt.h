/* SPDX-License-Identifier: MIT */
/*
 * fmt.h - snprintf without libc (fmt.c), so that the core builds
 * freestanding: the log lines, reports and error strings are formatted
 * here in every build, identically.
 */
#ifndef PMM_FMT_H
#define PMM_FMT_H

#include <stdarg.h>
#include <stddef.h>

/*
 * fmt_vsnprintf - C99 vsnprintf() for the conversions pmm uses: flags
 * "-0#+ ", a width and precision (digits or *), the length modifiers
 * hh h l ll z j t, and d i u o x X c s p %. As glibc, %p prints
 * 0x-prefixed hex or "(nil)".
 * Return: the length the whole output would have; at most @size - 1
 * characters are stored, then a NUL (when @size > 0).
 */
int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* PMM_FMT_H */
