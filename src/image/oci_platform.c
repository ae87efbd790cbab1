/* Platforms: this machine's in OCI terms, containerd's normalisation and
 * matching (docs/decisions/0017), and the choice of an index's entry by tag
 * and platform, the same at every level of nested indexes
 * (docs/decisions/0013).  No I/O: the callers in oci.c read the documents. */
#include <errno.h>
#include <string.h>
#include <sys/utsname.h>

#include "layerfs/error.h"

#include "oci_internal.h"

char *lfs_oci_machine_platform(const char *machine)
{
	/* uname machine names -> the image spec's GOARCH names.  armv8l is
	 * a 32-bit userland on a 64-bit CPU: arm/v8 to containerd, which
	 * runs arm/v7 and older images there. */
	static const struct {
		const char *machine, *platform;
	} map[] = {
		{ "x86_64", "linux/amd64" },	 { "i386", "linux/386" },
		{ "i486", "linux/386" },	 { "i586", "linux/386" },
		{ "i686", "linux/386" },	 { "aarch64", "linux/arm64" },
		{ "armv8l", "linux/arm/v8" },	 { "armv7l", "linux/arm/v7" },
		{ "armv6l", "linux/arm/v6" },	 { "armv5tel", "linux/arm/v5" },
		{ "armv5tejl", "linux/arm/v5" }, { "ppc64le", "linux/ppc64le" },
		{ "ppc64", "linux/ppc64" },	 { "s390x", "linux/s390x" },
		{ "riscv64", "linux/riscv64" },	 { "mips64", "linux/mips64" },
		{ "loongarch64", "linux/loong64" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(map); i++) {
		if (strcmp(machine, map[i].machine) == 0)
			return g_strdup(map[i].platform);
	}
	return g_strdup_printf("linux/%s", machine);
}

char *lfs_oci_host_platform(void)
{
	struct utsname u;

	if (uname(&u) < 0)
		return g_strdup("linux/amd64");
	return lfs_oci_machine_platform(u.machine);
}

/* A platform in containerd's canonical spelling (docs/decisions/0017). */
struct norm_platform {
	char *os, *arch;
	char *variant; /* "" when there is none */
};
typedef struct norm_platform norm_platform;

static void norm_platform_clear(struct norm_platform *p)
{
	g_free(p->os);
	g_free(p->arch);
	g_free(p->variant);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(norm_platform, norm_platform_clear)

static bool eq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static void set(char **s, char *to)
{
	g_free(*s);
	*s = to;
}

/* containerd's normalisation (its normalizeArch): lower case; the names
 * uname(2) and Debian give architectures become GOARCH names; arm without
 * a variant is v7 (what "armhf" and Docker mean by arm), arm64's "", "8"
 * and "v8" are all v8. */
static void normalize(const char *os, const char *arch, const char *variant,
		      struct norm_platform *out)
{
	char *a = g_ascii_strdown(arch, -1);
	char *v = g_ascii_strdown(variant ? variant : "", -1);

	if (eq(a, "i386") || eq(a, "i686")) {
		set(&a, g_strdup("386"));
		set(&v, g_strdup(""));
	} else if (eq(a, "x86_64") || eq(a, "x86-64") || eq(a, "amd64")) {
		set(&a, g_strdup("amd64"));
		if (eq(v, "v1"))
			set(&v, g_strdup(""));
	} else if (eq(a, "aarch64") || eq(a, "arm64")) {
		set(&a, g_strdup("arm64"));
		if (!*v || eq(v, "8") || eq(v, "v8") || eq(v, "v8.0"))
			set(&v, g_strdup("v8"));
		else if (eq(v, "9") || eq(v, "9.0") || eq(v, "v9.0"))
			set(&v, g_strdup("v9"));
	} else if (eq(a, "armhf")) {
		set(&a, g_strdup("arm"));
		set(&v, g_strdup("v7"));
	} else if (eq(a, "armel")) {
		set(&a, g_strdup("arm"));
		set(&v, g_strdup("v6"));
	} else if (eq(a, "arm")) {
		if (!*v)
			set(&v, g_strdup("v7"));
		else if (eq(v, "5") || eq(v, "6") || eq(v, "7") || eq(v, "8"))
			set(&v, g_strconcat("v", v, NULL));
	}
	out->os = g_ascii_strdown(os, -1);
	out->arch = a;
	out->variant = v;
}

/* "vMAJOR[.MINOR]" -> its numbers; false for anything else. */
static bool variant_version(const char *v, int *major, int *minor)
{
	const char *p = v + 1;
	char *end;
	guint64 n;

	*major = *minor = 0;
	if (v[0] != 'v' || !g_ascii_isdigit(*p))
		return false;
	n = g_ascii_strtoull(p, &end, 10);
	if (n > 99)
		return false;
	*major = (int)n;
	if (*end == '\0')
		return true;
	if (*end != '.' || !g_ascii_isdigit(end[1]))
		return false;
	n = g_ascii_strtoull(end + 1, &end, 10);
	*minor = (int)MIN(n, 99);
	return *end == '\0';
}

static void add(GPtrArray *v, const char *arch, const char *variant)
{
	g_ptr_array_add(v, g_strdup_printf("%s/%s", arch, variant));
}

static void add_arm64(GPtrArray *v, int major, int minor)
{
	if (minor)
		g_ptr_array_add(v, g_strdup_printf("arm64/v%d.%d", major,
						   minor));
	else
		g_ptr_array_add(v, g_strdup_printf("arm64/v%d", major));
}

/* What runs on @p, best first, as "arch/variant": @p itself, then, as
 * containerd's platforms.Only() has it, older levels of the same
 * architecture (amd64/vN..v1, arm/vN..v5, arm64/v9.x..v9, v8.(x+5)..v8)
 * and the 32-bit architecture a 64-bit one runs (386, arm/v8..v5). */
static GPtrArray *runs_on(const struct norm_platform *p)
{
	GPtrArray *v = g_ptr_array_new_with_free_func(g_free);
	int major = 0, minor = 0;
	bool level = variant_version(p->variant, &major, &minor);

	add(v, p->arch, p->variant);
	if (eq(p->arch, "amd64")) {
		for (int l = level && !minor ? major - 1 : 0; l >= 1; l--) {
			g_autofree char *lv = g_strdup_printf("v%d", l);

			add(v, "amd64", l == 1 ? "" : lv);
		}
		add(v, "386", "");
	} else if (eq(p->arch, "arm") && level && !minor) {
		for (int l = major - 1; l >= 5; l--) {
			g_autofree char *lv = g_strdup_printf("v%d", l);

			add(v, "arm", lv);
		}
	} else if (eq(p->arch, "arm64") && level &&
		   (major == 8 || major == 9)) {
		for (int m = minor - 1; m >= 0; m--)
			add_arm64(v, major, m);
		if (major == 9) {
			/* v9.x has everything of v8.(x+5) */
			for (int m = MIN(minor + 5, 9); m >= 0; m--)
				add_arm64(v, 8, m);
		}
		add(v, "arm", "v8");
		add(v, "arm", "v7");
		add(v, "arm", "v6");
		add(v, "arm", "v5");
	}
	return v;
}

int lfs_oci_platform_rank(const struct lfs_oci_descriptor *d,
			  const char *platform)
{
	g_auto(GStrv) w = g_strsplit(platform, "/", 3);
	g_auto(norm_platform) want = { 0 };
	g_auto(norm_platform) have = { 0 };
	g_autoptr(GPtrArray) ok = NULL;
	g_autofree char *key = NULL;

	if (!d->os || !d->arch || !w[0] || !w[1])
		return -1;
	normalize(w[0], w[1], w[2], &want);
	normalize(d->os, d->arch, d->variant, &have);
	if (!eq(want.os, have.os))
		return -1;
	ok = runs_on(&want);
	key = g_strdup_printf("%s/%s", have.arch, have.variant);
	for (guint i = 0; i < ok->len; i++) {
		if (eq(ok->pdata[i], key))
			return (int)i;
	}
	return -1;
}

/* The distinct ref.name values of @descs, or "none". */
static GString *list_refs(GPtrArray *descs)
{
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < descs->len; i++) {
		struct lfs_oci_descriptor *d = descs->pdata[i];

		if (!d->ref_name || !g_hash_table_add(seen, d->ref_name))
			continue;
		g_string_append_printf(s, "%s%s", s->len ? ", " : "",
				       d->ref_name);
	}
	if (!s->len)
		g_string_append(s, "none");
	return s;
}

/* The platforms @descs name, in order, or "none". */
static GString *list_platforms(GPtrArray *descs)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < descs->len; i++) {
		struct lfs_oci_descriptor *d = descs->pdata[i];

		if (d->os && d->arch)
			g_string_append_printf(s, "%s%s/%s%s%s",
					       s->len ? ", " : "", d->os,
					       d->arch, d->variant ? "/" : "",
					       d->variant ? d->variant : "");
	}
	if (!s->len)
		g_string_append(s, "none");
	return s;
}

static bool any_platform(GPtrArray *descs)
{
	for (guint i = 0; i < descs->len; i++)
		if (((struct lfs_oci_descriptor *)descs->pdata[i])->os)
			return true;
	return false;
}

/* Whether @descs carry more than one ref.name (an untagged one counts as
 * a name of its own). */
static bool several_refs(GPtrArray *descs)
{
	for (guint i = 1; i < descs->len; i++) {
		struct lfs_oci_descriptor *a = descs->pdata[0],
					  *b = descs->pdata[i];

		if (g_strcmp0(a->ref_name, b->ref_name) != 0)
			return true;
	}
	return false;
}

static gboolean take(struct lfs_oci_descriptor *d, struct lfs_oci_pick *p,
		     struct lfs_oci_descriptor **out)
{
	p->named = p->named || d->os;
	*out = d;
	return TRUE;
}

gboolean lfs_oci_select_platform(GPtrArray *cands, const char *what,
				 struct lfs_oci_pick *p,
				 struct lfs_oci_descriptor **out,
				 GError **error)
{
	struct lfs_oci_descriptor *only = NULL, *best = NULL;
	g_autoptr(GString) avail = NULL;
	int best_rank = -1;

	for (guint i = 0; i < cands->len; i++) {
		struct lfs_oci_descriptor *d = cands->pdata[i];
		int r = lfs_oci_platform_rank(d, p->platform);

		if (r >= 0 && (best_rank < 0 || r < best_rank)) {
			best = d;
			best_rank = r;
		}
	}
	if (best)
		return take(best, p, out);
	if (cands->len == 1)
		only = cands->pdata[0];
	if (only && (!only->os || !p->explicit))
		return take(only, p, out);
	avail = list_platforms(cands);
	return lfs_fail(error, ENOENT,
			"%s: no manifest for %splatform %s (available: %s)%s",
			what, p->explicit ? "" : "this machine's ", p->platform,
			avail->str,
			p->explicit ? "" : "; choose one with --platform");
}

gboolean lfs_oci_select_top(GPtrArray *descs, const char *dir,
			    struct lfs_oci_pick *p,
			    struct lfs_oci_descriptor **out, GError **error)
{
	g_autofree char *what = g_strdup_printf("%s/index.json", dir);
	g_autoptr(GPtrArray) cands = g_ptr_array_new();
	g_autoptr(GString) refs = list_refs(descs);

	for (guint i = 0; i < descs->len; i++) {
		struct lfs_oci_descriptor *d = descs->pdata[i];

		if (!p->ref || g_strcmp0(d->ref_name, p->ref) == 0)
			g_ptr_array_add(cands, d);
	}
	if (p->ref && !cands->len)
		return lfs_fail(error, ENOENT,
				"%s: no image tagged \"%s\" (tags: %s)", what,
				p->ref, refs->str);
	if (!p->ref && cands->len != 1 &&
	    (several_refs(cands) || !any_platform(cands)))
		return lfs_fail(error, EINVAL,
				"%s: holds %u images; name one as oci:%s:TAG "
				"(tags: %s)",
				what, cands->len, dir, refs->str);
	return lfs_oci_select_platform(cands, what, p, out, error);
}

gboolean lfs_oci_check_config_platform(const char *what, const char *have,
				       const struct lfs_oci_pick *p,
				       GError **error)
{
	g_auto(GStrv) got = NULL, want = NULL;
	g_autofree char *os_arch = NULL;
	struct lfs_oci_descriptor d = {0};
	const char *platform = p->platform;

	if (!p->explicit || p->named || !have)
		return TRUE;
	got = g_strsplit(have, "/", 3);
	want = g_strsplit(p->platform, "/", 3);
	d.os = got[0];
	d.arch = got[1];
	d.variant = got[2];
	if (!d.variant && want[0] && want[1])
		platform = os_arch = g_strdup_printf("%s/%s", want[0], want[1]);
	if (lfs_oci_platform_rank(&d, platform) >= 0)
		return TRUE;
	return lfs_fail(error, ENOENT,
			"%s: the image is for platform %s, not %s", what, have,
			p->platform);
}
