// SPDX-License-Identifier: GPL-2.0
/*
 * validate.c - pure checks of site and POP records (no database access).
 *
 * Every message names the field and shows the offending value, escaped, so
 * that an operator can fix a CSV row or a command line without guessing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "store.h"

#define FQDN_MAX	253	/* RFC 1035 2.3.4, no trailing dot */
#define LABEL_MAX	63
#define EMAIL_LOCAL_MAX	64	/* RFC 5321 4.5.3.1.1 */
#define QUOTE_MAX	72	/* bytes of a value quoted in a message */

int eg_fail(struct eg_err *err, int errcode, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	if (errcode > 0)
		return -errcode;
	return errcode < 0 ? errcode : -EINVAL;
}

const char *eg_escape(char *buf, size_t size, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (!size)
		return buf;
	if (!s)
		s = "(null)";
	for (; *s; s++) {
		unsigned char c = *s;
		size_t need = (c >= 0x20 && c < 0x7f) ? 1 : 4;

		/* keep room for "..." and the NUL */
		if (o + need + 4 > size) {
			if (o + 4 <= size) {
				memcpy(buf + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (need == 1) {
			buf[o++] = c;
		} else {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	buf[o] = '\0';
	return buf;
}

/* Compare an enum name loosely: case ignored, ' ' and '_' read as '-'. */
static int name_eq(const char *s, const char *name)
{
	for (; *s && *name; s++, name++) {
		char c = *s;

		if (c == ' ' || c == '_')
			c = '-';
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c != *name)
			return 0;
	}
	return !*s && !*name;
}

static const char *const id_type_names[] = {
	[EG_ID_IPV4] = "ipv4", [EG_ID_FQDN] = "fqdn", [EG_ID_EMAIL] = "email",
};

static const char *const traffic_names[] = {
	[EG_TT_USER] = "user", [EG_TT_IOT] = "iot", [EG_TT_MIXED] = "mixed",
	[EG_TT_MACHINE] = "machine", [EG_TT_GUEST_WIFI] = "guest-wifi",
};

static const char *const license_names[] = {
	[EG_LIC_WEB_GATEWAY] = "web-gateway",
	[EG_LIC_CLOUD_FIREWALL] = "cloud-firewall",
};

static const char *const status_names[] = {
	[EG_STATUS_ANY] = "any", [EG_STATUS_UP] = "up",
	[EG_STATUS_DOWN] = "down", [EG_STATUS_DISABLED] = "disabled",
};

static const char *const cipher_names[] = EG_CIPHERS;

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static int enum_parse(const char *s, const char *const *names, size_t n)
{
	size_t i;

	if (!s)
		return -EINVAL;
	for (i = 1; i < n; i++)
		if (name_eq(s, names[i]))
			return i;
	return -EINVAL;
}

int eg_id_type_parse(const char *s, enum eg_id_type *t)
{
	int v = enum_parse(s, id_type_names, ARRAY_SIZE(id_type_names));

	if (v < 0)
		return v;
	*t = v;
	return 0;
}

const char *eg_id_type_name(enum eg_id_type t)
{
	if ((unsigned)t == 0 || (unsigned)t >= ARRAY_SIZE(id_type_names))
		return NULL;
	return id_type_names[t];
}

int eg_traffic_parse(const char *s, enum eg_traffic *t)
{
	int v = enum_parse(s, traffic_names, ARRAY_SIZE(traffic_names));

	if (v < 0)
		return v;
	*t = v;
	return 0;
}

const char *eg_traffic_name(enum eg_traffic t)
{
	if ((unsigned)t == 0 || (unsigned)t >= ARRAY_SIZE(traffic_names))
		return NULL;
	return traffic_names[t];
}

int eg_license_parse(const char *s, enum eg_license *l)
{
	int v = enum_parse(s, license_names, ARRAY_SIZE(license_names));

	if (v < 0)
		return v;
	*l = v;
	return 0;
}

const char *eg_license_name(enum eg_license l)
{
	if ((unsigned)l == 0 || (unsigned)l >= ARRAY_SIZE(license_names))
		return NULL;
	return license_names[l];
}

int eg_status_parse(const char *s, enum eg_status *st)
{
	size_t i;

	if (!s)
		return -EINVAL;
	/* unlike the other enums, 0 (any) is a value here */
	for (i = 0; i < ARRAY_SIZE(status_names); i++) {
		if (name_eq(s, status_names[i])) {
			*st = i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *eg_site_status_name(const struct eg_site_rec *s)
{
	if (!s->enabled)
		return status_names[EG_STATUS_DISABLED];
	return status_names[s->up ? EG_STATUS_UP : EG_STATUS_DOWN];
}

/* ASCII only: a locale must not change what a stored value means. */
static char ascii_upper(char c)
{
	return c >= 'a' && c <= 'z' ? c - ('a' - 'A') : c;
}

const char *eg_cipher_name(const char *s)
{
	const char *a, *b;
	size_t i;

	if (!s)
		return NULL;
	if (!*s)
		return "";
	for (i = 0; cipher_names[i]; i++) {
		for (a = s, b = cipher_names[i]; *a && ascii_upper(*a) == *b;
		     a++, b++)
			;
		if (!*a && !*b)
			return cipher_names[i];
	}
	return NULL;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

int eg_ipv4_parse(const char *s, uint32_t *be_addr)
{
	uint32_t addr = 0;
	int i;

	if (!s)
		return -EINVAL;
	for (i = 0; i < 4; i++) {
		unsigned v = 0, n = 0;

		if (i && *s++ != '.')
			return -EINVAL;
		/* "0" is fine, "010" is not: it reads as octal elsewhere */
		if (s[0] == '0' && is_digit(s[1]))
			return -EINVAL;
		while (is_digit(*s) && n < 4) {
			v = v * 10 + (*s++ - '0');
			n++;
		}
		if (!n || n > 3 || v > 255)
			return -EINVAL;
		addr = addr << 8 | v;
	}
	if (*s)
		return -EINVAL;
	*be_addr = htonl(addr);
	return 0;
}

int eg_addr_port_parse(const char *s, uint32_t *be_addr, uint16_t *port)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = s ? strrchr(s, ':') : NULL;
	unsigned long v = 0;
	int n = 0;

	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, colon - s);
	host[colon - s] = '\0';
	/* digits only, no sign or spaces strtoul would take; at most 5 */
	for (s = colon + 1; is_digit(*s) && n < 6; s++, n++)
		v = v * 10 + (unsigned long)(*s - '0');
	if (!n || n > 5 || *s || v > 65535 || eg_ipv4_parse(host, be_addr))
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int eg_ipv4_parse_field(const char *field, const char *s, uint32_t *be_addr,
			struct eg_err *err)
{
	char q[QUOTE_MAX];

	if (!eg_ipv4_parse(s, be_addr))
		return 0;
	return eg_fail(err, EINVAL,
		       "%s '%s' is not a dotted-quad IPv4 address "
		       "(a.b.c.d, each 0-255, no leading zeros)",
		       field, eg_escape(q, sizeof(q), s));
}

/* 0 if the address may be a tunnel endpoint; else a reason. */
static const char *ipv4_unusable(uint32_t be_addr, bool allow_loopback)
{
	uint32_t a = ntohl(be_addr);

	if (a == 0xffffffff)
		return "is the broadcast address";
	if ((a >> 24) == 0)
		return "is in 0.0.0.0/8 (\"this network\")";
	if ((a >> 28) == 0xe)
		return "is a multicast address";
	if (!allow_loopback && (a >> 24) == 127)
		return "is a loopback address";
	return NULL;
}

static const char *ipv4_str(uint32_t be_addr, char buf[INET_ADDRSTRLEN])
{
	struct in_addr in = { .s_addr = be_addr };

	return inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
}

/*
 * A name of a site or POP: 1..EG_NAME_MAX bytes of [A-Za-z0-9._ -], not
 * starting or ending with a space (it would vanish in tables and CSV).
 * buf is a char array of EG_NAME_MAX + 1 that may lack its NUL.
 */
static int name_validate(const char *what, const char *buf,
			 struct eg_err *err)
{
	char q[QUOTE_MAX], shown[EG_NAME_MAX + 1];
	size_t len = strnlen(buf, EG_NAME_MAX + 1), i;

	if (!len)
		return eg_fail(err, EINVAL, "%s is empty", what);
	if (len > EG_NAME_MAX) {
		memcpy(shown, buf, EG_NAME_MAX);
		shown[EG_NAME_MAX] = '\0';
		return eg_fail(err, EINVAL,
			       "%s '%s' is too long: more than %d bytes",
			       what, eg_escape(q, 40, shown), EG_NAME_MAX);
	}
	for (i = 0; i < len; i++) {
		unsigned char c = buf[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    is_digit(c) || c == '.' || c == '_' || c == ' ' ||
		    c == '-')
			continue;
		if (c >= 0x21 && c < 0x7f)
			return eg_fail(err, EINVAL,
				       "%s '%s' contains '%c'; allowed are letters, digits, space, '.', '_' and '-'",
				       what, eg_escape(q, sizeof(q), buf), c);
		return eg_fail(err, EINVAL,
			       "%s '%s' contains byte 0x%02x; allowed are letters, digits, space, '.', '_' and '-'",
			       what, eg_escape(q, sizeof(q), buf), c);
	}
	if (buf[0] == ' ' || buf[len - 1] == ' ')
		return eg_fail(err, EINVAL,
			       "%s '%s' must not start or end with a space",
			       what, eg_escape(q, sizeof(q), buf));
	return 0;
}

/*
 * Host name per RFC 1035 2.3.1 as relaxed by RFC 1123 2.1: labels of 1..63
 * letters, digits and hyphens, no hyphen at either end, 253 bytes in all.
 * We also ask for at least one dot: an IKE peer that sends a bare host name
 * as ID_FQDN is almost always misconfigured, and "branch1" is too easily
 * confused with a site name. The last label may not be all digits (RFC 3696
 * section 2), which keeps "1.2.3.4" from passing as an FQDN.
 */
static int fqdn_check(const char *dom, const char *shown, const char *kind,
		      struct eg_err *err)
{
	const char *p, *label = dom;
	size_t len = strlen(dom), n;
	bool digits_only = true;

	if (!len)
		return eg_fail(err, EINVAL,
			       "source identity '%s' is not a valid %s: empty domain",
			       shown, kind);
	if (len > FQDN_MAX)
		return eg_fail(err, EINVAL,
			       "source identity '%s' is not a valid %s: %zu bytes, at most %d",
			       shown, kind, len, FQDN_MAX);
	for (p = dom; *p; p++) {
		unsigned char c = *p;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    is_digit(c) || c == '-' || c == '.')
			continue;
		if (c >= 0x21 && c < 0x7f)
			return eg_fail(err, EINVAL,
				       "source identity '%s' is not a valid %s: '%c' is not allowed (letters, digits, '-' and '.')",
				       shown, kind, c);
		return eg_fail(err, EINVAL,
			       "source identity '%s' is not a valid %s: byte 0x%02x is not allowed (letters, digits, '-' and '.')",
			       shown, kind, c);
	}
	if (!strchr(dom, '.'))
		return eg_fail(err, EINVAL,
			       "source identity '%s' is not a valid %s: it needs at least two labels, e.g. branch.example.com",
			       shown, kind);
	for (p = dom;; p++) {
		if (*p && *p != '.') {
			if (!is_digit(*p))
				digits_only = false;
			continue;
		}
		n = p - label;
		if (!n)
			return eg_fail(err, EINVAL,
				       "source identity '%s' is not a valid %s: empty label (leading, trailing or double dot)",
				       shown, kind);
		if (n > LABEL_MAX)
			return eg_fail(err, EINVAL,
				       "source identity '%s' is not a valid %s: label '%.20s...' is %zu bytes, at most %d",
				       shown, kind, label, n, LABEL_MAX);
		if (label[0] == '-' || label[n - 1] == '-')
			return eg_fail(err, EINVAL,
				       "source identity '%s' is not a valid %s: label '%.*s' starts or ends with '-'",
				       shown, kind, (int)n, label);
		if (!*p)
			break;
		label = p + 1;
		digits_only = true;
	}
	if (digits_only)
		return eg_fail(err, EINVAL,
			       "source identity '%s' is not a valid %s: the last label '%s' is all digits",
			       shown, kind, label);
	return 0;
}

/* RFC 822 simplified: local@domain, local printable without space or '@'. */
static int email_check(const char *v, const char *shown, struct eg_err *err)
{
	const char *at = strchr(v, '@'), *p;

	if (!at)
		return eg_fail(err, EINVAL,
			       "source identity '%s' is not a valid email ID: no '@'",
			       shown);
	if (strchr(at + 1, '@'))
		return eg_fail(err, EINVAL,
			       "source identity '%s' is not a valid email ID: more than one '@'",
			       shown);
	if (at == v)
		return eg_fail(err, EINVAL,
			       "source identity '%s' is not a valid email ID: empty local part before '@'",
			       shown);
	if (at - v > EMAIL_LOCAL_MAX)
		return eg_fail(err, EINVAL,
			       "source identity '%s' is not a valid email ID: local part is %td bytes, at most %d",
			       shown, at - v, EMAIL_LOCAL_MAX);
	for (p = v; p < at; p++) {
		unsigned char c = *p;

		if (c < 0x21 || c >= 0x7f)
			return eg_fail(err, EINVAL,
				       "source identity '%s' is not a valid email ID: the local part may not contain spaces, control or non-ASCII bytes",
				       shown);
	}
	return fqdn_check(at + 1, shown, "email ID domain", err);
}

bool eg_site_has_pop(const struct eg_site_rec *s, const char *pop)
{
	unsigned i;

	if (!strcasecmp(s->primary_pop, pop))
		return true;
	for (i = 0; i < s->n_backup_pops && i < EG_MAX_BACKUP_POPS; i++)
		if (!strcasecmp(s->backup_pops[i], pop))
			return true;
	return false;
}

int eg_ident_validate(enum eg_id_type t, const char *value, struct eg_err *err)
{
	char q[QUOTE_MAX], a[INET_ADDRSTRLEN];
	uint32_t addr;
	size_t len;
	int ret;

	if (!eg_id_type_name(t))
		return eg_fail(err, EINVAL,
			       "unknown source identity type %d (expected ipv4, fqdn or email)",
			       (int)t);
	if (!value || !*value)
		return eg_fail(err, EINVAL, "source identity is empty");
	len = strnlen(value, EG_IDENT_MAX + 1);
	if (len > EG_IDENT_MAX)
		return eg_fail(err, EINVAL,
			       "source identity '%s' is too long: more than %d bytes",
			       eg_escape(q, 40, value), EG_IDENT_MAX);
	eg_escape(q, sizeof(q), value);
	switch (t) {
	case EG_ID_IPV4:
		ret = eg_ipv4_parse_field("source identity", value, &addr, err);
		if (ret)
			return ret;
		if (addr == 0 || addr == 0xffffffff)
			return eg_fail(err, EINVAL,
				       "source identity %s is not a usable IPv4 ID",
				       ipv4_str(addr, a));
		return 0;
	case EG_ID_FQDN:
		return fqdn_check(value, q, "FQDN", err);
	case EG_ID_EMAIL:
		return email_check(value, q, err);
	}
	return -EINVAL;
}

/* ---- LAN prefixes -------------------------------------------------------- */

unsigned eg_site_lan(const struct eg_site_rec *s, struct eg_prefix *out)
{
	/* host order here */
	static const struct eg_prefix rfc1918[] = {
		{ .addr = 0x0a000000, .len = 8 },	/* 10.0.0.0/8 */
		{ .addr = 0xac100000, .len = 12 },	/* 172.16.0.0/12 */
		{ .addr = 0xc0a80000, .len = 16 },	/* 192.168.0.0/16 */
	};
	unsigned i;

	if (!s->n_lan) {
		for (i = 0; i < ARRAY_SIZE(rfc1918); i++) {
			out[i].addr = htonl(rfc1918[i].addr);
			out[i].len = rfc1918[i].len;
		}
		return ARRAY_SIZE(rfc1918);
	}
	for (i = 0; i < s->n_lan && i < EG_LAN_MAX; i++)
		out[i] = s->lan[i];
	return i;
}

int eg_lan_parse(const char *str, struct eg_site_rec *s, struct eg_err *err)
{
	char buf[32], q[QUOTE_MAX];
	const char *p = str, *end;
	unsigned n = 0, i;

	s->n_lan = 0;
	while (*p) {
		uint32_t addr, m;
		char *slash, *e;
		long len;
		size_t l;

		end = strchr(p, ',');
		l = end ? (size_t)(end - p) : strlen(p);
		if (l == 0 || l >= sizeof(buf))
			return eg_fail(err, EINVAL,
				       "LAN prefixes '%s': an empty or overlong entry",
				       eg_escape(q, sizeof(q), str));
		memcpy(buf, p, l);
		buf[l] = '\0';
		slash = strchr(buf, '/');
		if (!slash)
			return eg_fail(err, EINVAL,
				       "LAN prefix '%s' has no /length (e.g. 10.1.0.0/24)",
				       eg_escape(q, sizeof(q), buf));
		*slash = '\0';
		len = strtol(slash + 1, &e, 10);
		if (eg_ipv4_parse(buf, &addr) || *e || e == slash + 1 || len < 0 ||
		    len > 32) {
			*slash = '/';
			return eg_fail(err, EINVAL,
				       "LAN prefix '%s' is not an IPv4 prefix a.b.c.d/n",
				       eg_escape(q, sizeof(q), buf));
		}
		m = len ? htonl(~0u << (32 - len)) : 0;
		if (addr & ~m) {
			*slash = '/';
			return eg_fail(err, EINVAL,
				       "LAN prefix '%s' has host bits set",
				       eg_escape(q, sizeof(q), buf));
		}
		if (n == EG_LAN_MAX)
			return eg_fail(err, EINVAL,
				       "more than %d LAN prefixes", EG_LAN_MAX);
		for (i = 0; i < n; i++)
			if (s->lan[i].addr == addr && s->lan[i].len == len)
				break;
		if (i == n)
			s->lan[n++] = (struct eg_prefix){ .addr = addr, .len = (uint8_t)len };
		p = end ? end + 1 : p + l;
		if (end && !*p)
			return eg_fail(err, EINVAL, "LAN prefixes '%s' end with a comma",
				       eg_escape(q, sizeof(q), str));
	}
	s->n_lan = n;
	return 0;
}

const char *eg_lan_str(const struct eg_site_rec *s, char *buf, size_t size)
{
	char a[INET_ADDRSTRLEN];
	size_t o = 0;
	unsigned i;

	if (size)
		buf[0] = '\0';
	for (i = 0; i < s->n_lan && i < EG_LAN_MAX && o < size; i++)
		o += snprintf(buf + o, size - o, "%s%s/%u", i ? "," : "",
			      inet_ntop(AF_INET, &s->lan[i].addr, a, sizeof(a)),
			      s->lan[i].len);
	return buf;
}

void eg_site_clear(struct eg_site_rec *s)
{
	OPENSSL_cleanse(s, sizeof(*s));
}

/* buf is a char array of EG_CIPHER_MAX + 1 that may lack its NUL. */
static int cipher_validate(const char *buf, struct eg_err *err)
{
	char q[QUOTE_MAX], shown[EG_CIPHER_MAX + 1], list[128];
	size_t len = strnlen(buf, EG_CIPHER_MAX + 1), o = 0, i;

	memcpy(shown, buf, EG_CIPHER_MAX);
	shown[EG_CIPHER_MAX] = '\0';
	if (len > EG_CIPHER_MAX)
		return eg_fail(err, EINVAL,
			       "encryption cipher '%s' is too long: more than %d bytes",
			       eg_escape(q, sizeof(q), shown), EG_CIPHER_MAX);
	if (eg_cipher_name(shown))
		return 0;
	for (i = 0; cipher_names[i] && o < sizeof(list); i++)
		o += snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "",
			      cipher_names[i]);
	return eg_fail(err, EINVAL,
		       "encryption cipher '%s' is not supported; use one of %s, or leave it empty for any but NULL",
		       eg_escape(q, sizeof(q), shown), list);
}

/* 0 (the gateway's default) or min..max seconds. */
static int secs_validate(const char *what, uint32_t v, uint32_t min,
			 uint32_t max, struct eg_err *err)
{
	if (v && (v < min || v > max))
		return eg_fail(err, EINVAL,
			       "%s %u s is out of range: 0 (the gateway's default) or %u-%u",
			       what, v, min, max);
	return 0;
}

int eg_site_validate(const struct eg_site_rec *s, struct eg_err *err)
{
	char q[QUOTE_MAX], a[INET_ADDRSTRLEN];
	char ident[EG_IDENT_MAX + 1];
	const char *why;
	unsigned i, j;
	int ret;

	ret = name_validate("site name", s->name, err);
	if (ret)
		return ret;

	/* copy so that a value filling the whole array is seen as too long */
	memcpy(ident, s->id_value, sizeof(ident) - 1);
	ident[sizeof(ident) - 1] = '\0';
	if (strnlen(s->id_value, sizeof(s->id_value)) == sizeof(s->id_value))
		return eg_fail(err, EINVAL,
			       "source identity '%s' is too long: more than %d bytes",
			       eg_escape(q, 40, ident), EG_IDENT_MAX);
	ret = eg_ident_validate(s->id_type, ident, err);
	if (ret)
		return ret;

	why = ipv4_unusable(s->source_ip, false);
	if (why)
		return eg_fail(err, EINVAL,
			       "source ip %s %s; use the site's public egress address",
			       ipv4_str(s->source_ip, a), why);

	/* an update without a PSK keeps the stored one (store.h) */
	if ((s->psk_len || !s->id) && s->psk_len < EG_PSK_MIN)
		return eg_fail(err, EINVAL,
			       "PSK too short: %zu bytes, at least %d required",
			       s->psk_len, EG_PSK_MIN);
	if (s->psk_len > EG_PSK_MAX)
		return eg_fail(err, EINVAL,
			       "PSK too long: %zu bytes, at most %d allowed",
			       s->psk_len, EG_PSK_MAX);

	if (!s->primary_pop[0])
		return eg_fail(err, EINVAL, "primary POP is not set");
	ret = name_validate("primary POP name", s->primary_pop, err);
	if (ret)
		return ret;
	if (s->n_backup_pops > EG_MAX_BACKUP_POPS)
		return eg_fail(err, EINVAL,
			       "too many backup POPs: %u, at most %d",
			       s->n_backup_pops, EG_MAX_BACKUP_POPS);
	for (i = 0; i < s->n_backup_pops; i++) {
		const char *b = s->backup_pops[i];

		ret = name_validate("backup POP name", b, err);
		if (ret)
			return ret;
		if (!strcmp(b, s->primary_pop))
			return eg_fail(err, EINVAL,
				       "backup POP '%s' is also the primary POP",
				       b);
		for (j = 0; j < i; j++)
			if (!strcmp(b, s->backup_pops[j]))
				return eg_fail(err, EINVAL,
					       "backup POP '%s' is listed twice",
					       b);
	}

	if (!eg_traffic_name(s->traffic))
		return eg_fail(err, EINVAL,
			       "unknown traffic type %d (expected user, iot, mixed, machine or guest-wifi)",
			       (int)s->traffic);
	if (!eg_license_name(s->license))
		return eg_fail(err, EINVAL,
			       "unknown license %d (expected web-gateway or cloud-firewall)",
			       (int)s->license);

	ret = cipher_validate(s->cipher, err);
	if (ret)
		return ret;

	if (s->n_ports > EG_MAX_CUSTOM_PORTS)
		return eg_fail(err, EINVAL,
			       "too many custom ports: %u, at most %d",
			       s->n_ports, EG_MAX_CUSTOM_PORTS);
	for (i = 0; i < s->n_ports; i++) {
		if (!s->ports[i])
			return eg_fail(err, EINVAL,
				       "custom port 0 is out of range 1-65535");
		for (j = 0; j < i; j++)
			if (s->ports[i] == s->ports[j])
				return eg_fail(err, EINVAL,
					       "custom port %u is listed twice",
					       s->ports[i]);
	}
	if (s->flow_cap > EG_CAP_MAX)
		return eg_fail(err, EINVAL, "flow cap %u is over %d", s->flow_cap,
			       EG_CAP_MAX);
	if (s->device_cap > EG_CAP_MAX)
		return eg_fail(err, EINVAL, "device cap %u is over %d",
			       s->device_cap, EG_CAP_MAX);
	ret = secs_validate("IKE lifetime", s->ike_lifetime, EG_LIFETIME_MIN,
			    EG_LIFETIME_MAX, err);
	if (!ret)
		ret = secs_validate("Child SA lifetime", s->child_lifetime,
				    EG_LIFETIME_MIN, EG_LIFETIME_MAX, err);
	if (!ret)
		ret = secs_validate("DPD delay", s->dpd_delay, 1, EG_DPD_MAX, err);
	if (!ret)
		ret = secs_validate("DPD timeout", s->dpd_timeout, 1, EG_DPD_MAX, err);
	if (ret)
		return ret;
	if (s->n_lan > EG_LAN_MAX)
		return eg_fail(err, EINVAL, "more than %d LAN prefixes", EG_LAN_MAX);
	return 0;
}

static int pop_ip_check(const char *what, uint32_t be_addr, struct eg_err *err)
{
	char a[INET_ADDRSTRLEN];
	const char *why = ipv4_unusable(be_addr, true);

	if (why)
		return eg_fail(err, EINVAL, "POP %s %s %s", what,
			       ipv4_str(be_addr, a), why);
	return 0;
}

int eg_pop_validate(const struct eg_pop_rec *p, struct eg_err *err)
{
	char q[QUOTE_MAX], loc[EG_LOCATION_MAX + 1];
	size_t len, i;
	int ret;

	ret = name_validate("POP name", p->name, err);
	if (ret)
		return ret;
	ret = pop_ip_check("gateway ip", p->gateway_ip, err);
	if (ret)
		return ret;
	ret = pop_ip_check("probe ip", p->probe_ip, err);
	if (ret)
		return ret;
	len = strnlen(p->location, sizeof(p->location));
	memcpy(loc, p->location, EG_LOCATION_MAX);
	loc[EG_LOCATION_MAX] = '\0';
	if (len > EG_LOCATION_MAX)
		return eg_fail(err, EINVAL,
			       "POP location '%s' is too long: more than %d bytes",
			       eg_escape(q, 40, loc), EG_LOCATION_MAX);
	/* free text (UTF-8 is fine), but no control characters */
	for (i = 0; i < len; i++) {
		unsigned char c = loc[i];

		if (c < 0x20 || c == 0x7f)
			return eg_fail(err, EINVAL,
				       "POP location '%s' contains a control character",
				       eg_escape(q, sizeof(q), loc));
	}
	return 0;
}

int eg_health_validate(const struct eg_health_rec *h, struct eg_err *err)
{
	char q[QUOTE_MAX];
	const char *c;
	int ret;

	ret = name_validate("health check name", h->name, err);
	if (ret)
		return ret;
	if (h->pop[0] && (ret = name_validate("POP name", h->pop, err)))
		return ret;
	if (h->service != EG_LIC_WEB_GATEWAY && h->service != EG_LIC_CLOUD_FIREWALL)
		return eg_fail(err, EINVAL, "service must be web-gateway or cloud-firewall");
	if (!h->addr || !h->port)
		return eg_fail(err, EINVAL, "target must be ADDR:PORT with a port of 1-65535");
	if (h->http) {
		if (h->path[0] != '/')
			return eg_fail(err, EINVAL, "path '%s' must start with '/'",
				       eg_escape(q, sizeof(q), h->path));
		for (c = h->path; *c; c++)
			if ((unsigned char)*c <= 0x20 || *c == 0x7f)
				return eg_fail(err, EINVAL,
					       "path '%s' contains a space or control character",
					       eg_escape(q, sizeof(q), h->path));
		if (h->expect < 100 || h->expect > 599)
			return eg_fail(err, EINVAL, "expect %u is not an HTTP status (100-599)",
				       h->expect);
	}
	if (h->interval < 1 || h->interval > 3600)
		return eg_fail(err, EINVAL, "interval %u s is out of range 1-3600", h->interval);
	if (h->timeout < 1 || h->timeout > 60 || h->timeout > h->interval)
		return eg_fail(err, EINVAL,
			       "timeout %u s must be 1-60 and at most the interval (%u s)",
			       h->timeout, h->interval);
	if (h->rise < 1 || h->rise > 100)
		return eg_fail(err, EINVAL, "rise %u is out of range 1-100", h->rise);
	if (h->fall < 1 || h->fall > 100)
		return eg_fail(err, EINVAL, "fall %u is out of range 1-100", h->fall);
	return 0;
}
