/* SPDX-License-Identifier: MIT */
/*
 * fmt.c - fmt_vsnprintf() (fmt.h): one pass over the format, each
 * conversion turned into digits in a small buffer, then padded into the
 * output, which counts every character it is offered and stores those that
 * fit.
 */
#include <stdbool.h>
#include <stdint.h>

#include "fmt.h"

struct fmt_out {
	char *buf;
	size_t size;
	size_t len;		/* characters offered so far */
};

static void out_char(struct fmt_out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void out_repeat(struct fmt_out *o, char c, int n)
{
	while (n-- > 0)
		out_char(o, c);
}

struct fmt_spec {
	bool left, zero, alt, plus, space;
	int width;
	int precision;		/* -1: none */
};

/*
 * Emit @prefix (sign or 0x) and @len digits from @digits with the spec's
 * width and precision: [spaces][prefix][zeros][digits][spaces].
 */
static void out_number(struct fmt_out *o, const struct fmt_spec *s, const char *prefix,
		       const char *digits, int len)
{
	int plen = 0, zeros = 0, pad;

	while (prefix[plen])
		plen++;
	if (s->precision >= 0) {
		if (s->precision > len)
			zeros = s->precision - len;
	} else if (s->zero && !s->left && s->width > plen + len) {
		zeros = s->width - plen - len;
	}
	pad = s->width - plen - zeros - len;
	if (!s->left)
		out_repeat(o, ' ', pad);
	for (int i = 0; i < plen; i++)
		out_char(o, prefix[i]);
	out_repeat(o, '0', zeros);
	for (int i = 0; i < len; i++)
		out_char(o, digits[i]);
	if (s->left)
		out_repeat(o, ' ', pad);
}

/* @v in @base, most significant digit first, into @tmp; returns the count. */
static int to_digits(char tmp[24], uintmax_t v, unsigned int base, bool upper)
{
	const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char rev[24];
	int n = 0;

	do {
		rev[n++] = set[v % base];
		v /= base;
	} while (v);
	for (int i = 0; i < n; i++)
		tmp[i] = rev[n - 1 - i];
	return n;
}

static void out_unsigned(struct fmt_out *o, const struct fmt_spec *s, uintmax_t v,
			 unsigned int base, bool upper, const char *prefix)
{
	char tmp[24];
	int n = to_digits(tmp, v, base, upper);

	if (s->precision == 0 && v == 0)
		n = 0;			/* C: "%.0d" of 0 prints nothing */
	out_number(o, s, prefix, tmp, n);
}

static void out_string(struct fmt_out *o, const struct fmt_spec *s, const char *str)
{
	int len = 0;

	if (!str)
		str = "(null)";
	while (str[len] && (s->precision < 0 || len < s->precision))
		len++;
	if (!s->left)
		out_repeat(o, ' ', s->width - len);
	for (int i = 0; i < len; i++)
		out_char(o, str[i]);
	if (s->left)
		out_repeat(o, ' ', s->width - len);
}

enum fmt_length { LEN_INT, LEN_CHAR, LEN_SHORT, LEN_LONG, LEN_LLONG, LEN_SIZE, LEN_MAX, LEN_PTRDIFF };

static uintmax_t arg_unsigned(va_list *ap, enum fmt_length len)
{
	switch (len) {
	case LEN_CHAR:		return (unsigned char)va_arg(*ap, unsigned int);
	case LEN_SHORT:		return (unsigned short)va_arg(*ap, unsigned int);
	case LEN_LONG:		return va_arg(*ap, unsigned long);
	case LEN_LLONG:		return va_arg(*ap, unsigned long long);
	case LEN_SIZE:		return va_arg(*ap, size_t);
	case LEN_MAX:		return va_arg(*ap, uintmax_t);
	case LEN_PTRDIFF:	return (uintmax_t)va_arg(*ap, ptrdiff_t);
	default:		return va_arg(*ap, unsigned int);
	}
}

static intmax_t arg_signed(va_list *ap, enum fmt_length len)
{
	switch (len) {
	case LEN_CHAR:		return (signed char)va_arg(*ap, int);
	case LEN_SHORT:		return (short)va_arg(*ap, int);
	case LEN_LONG:		return va_arg(*ap, long);
	case LEN_LLONG:		return va_arg(*ap, long long);
	case LEN_SIZE:		return (intmax_t)va_arg(*ap, size_t);
	case LEN_MAX:		return va_arg(*ap, intmax_t);
	case LEN_PTRDIFF:	return va_arg(*ap, ptrdiff_t);
	default:		return va_arg(*ap, int);
	}
}

/* Flags, width, precision and length at *@fmt; *@fmt moves past them. */
static enum fmt_length parse_spec(const char **fmt, struct fmt_spec *s, va_list *ap)
{
	const char *f = *fmt;
	enum fmt_length len = LEN_INT;

	*s = (struct fmt_spec){ .precision = -1 };
	for (;; f++) {
		if (*f == '-')
			s->left = true;
		else if (*f == '0')
			s->zero = true;
		else if (*f == '#')
			s->alt = true;
		else if (*f == '+')
			s->plus = true;
		else if (*f == ' ')
			s->space = true;
		else
			break;
	}
	if (*f == '*') {
		s->width = va_arg(*ap, int);
		if (s->width < 0) {
			s->left = true;
			s->width = -s->width;
		}
		f++;
	}
	while (*f >= '0' && *f <= '9')
		s->width = s->width * 10 + (*f++ - '0');
	if (*f == '.') {
		f++;
		s->precision = 0;
		if (*f == '*') {
			s->precision = va_arg(*ap, int);
			if (s->precision < 0)
				s->precision = -1;
			f++;
		}
		while (*f >= '0' && *f <= '9')
			s->precision = s->precision * 10 + (*f++ - '0');
	}
	if (f[0] == 'h' && f[1] == 'h') {
		len = LEN_CHAR;
		f += 2;
	} else if (f[0] == 'l' && f[1] == 'l') {
		len = LEN_LLONG;
		f += 2;
	} else if (*f == 'h' || *f == 'l' || *f == 'z' || *f == 'j' || *f == 't') {
		len = *f == 'h' ? LEN_SHORT : *f == 'l' ? LEN_LONG : *f == 'z' ? LEN_SIZE :
		      *f == 'j' ? LEN_MAX : LEN_PTRDIFF;
		f++;
	}
	*fmt = f;
	return len;
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct fmt_out o = { .buf = buf, .size = size };
	va_list args;

	va_copy(args, ap);
	while (*fmt) {
		struct fmt_spec s;
		enum fmt_length len;

		if (*fmt != '%') {
			out_char(&o, *fmt++);
			continue;
		}
		fmt++;
		len = parse_spec(&fmt, &s, &args);
		switch (*fmt) {
		case 'd':
		case 'i': {
			intmax_t v = arg_signed(&args, len);
			uintmax_t mag = v < 0 ? -(uintmax_t)v : (uintmax_t)v;

			out_unsigned(&o, &s, mag, 10, false,
				     v < 0 ? "-" : s.plus ? "+" : s.space ? " " : "");
			break;
		}
		case 'u':
			out_unsigned(&o, &s, arg_unsigned(&args, len), 10, false, "");
			break;
		case 'o': {
			uintmax_t v = arg_unsigned(&args, len);

			out_unsigned(&o, &s, v, 8, false, s.alt && v ? "0" : "");
			break;
		}
		case 'x':
		case 'X': {
			uintmax_t v = arg_unsigned(&args, len);

			out_unsigned(&o, &s, v, 16, *fmt == 'X',
				     s.alt && v ? (*fmt == 'X' ? "0X" : "0x") : "");
			break;
		}
		case 'p': {
			const void *p = va_arg(args, const void *);

			if (p)
				out_unsigned(&o, &s, (uintptr_t)p, 16, false, "0x");
			else
				out_string(&o, &(struct fmt_spec){ .width = s.width, .left = s.left,
								   .precision = -1 }, "(nil)");
			break;
		}
		case 'c': {
			char c = (char)va_arg(args, int);

			if (!s.left)
				out_repeat(&o, ' ', s.width - 1);
			out_char(&o, c);
			if (s.left)
				out_repeat(&o, ' ', s.width - 1);
			break;
		}
		case 's':
			out_string(&o, &s, va_arg(args, const char *));
			break;
		case '%':
			out_char(&o, '%');
			break;
		default:	/* unknown: print it as it stands; the format attribute warns */
			out_char(&o, '%');
			if (!*fmt)
				continue;
			out_char(&o, *fmt);
			break;
		}
		fmt++;
	}
	va_end(args);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return o.len > INT32_MAX ? INT32_MAX : (int)o.len;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
