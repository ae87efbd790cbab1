/* Image references in a registry (registry_ref.h). */
#include <errno.h>
#include <string.h>

#include "layerfs/error.h"
#include "layerfs/registry_ref.h"

#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128
#define DOCKER_HUB "docker.io"
#define DOCKER_HUB_API "registry-1.docker.io"

static bool lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* One repository component: [a-z0-9]+ joined by '.', '_', "__" or runs
 * of '-'. */
static bool component_ok(const char *c, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t run = i;

		while (i < len && lower_alnum(c[i]))
			i++;
		if (i == run)
			return false; /* empty, or starts with a separator */
		if (i == len)
			return true;
		if (c[i] == '.') {
			i++;
		} else if (c[i] == '_') {
			i += i + 1 < len && c[i + 1] == '_' ? 2 : 1;
		} else if (c[i] == '-') {
			while (i < len && c[i] == '-')
				i++;
		} else {
			return false;
		}
		if (i == len)
			return false; /* ends with a separator */
	}
	return false;
}

static bool repo_ok(const char *repo)
{
	const char *p = repo;

	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (!component_ok(p, len))
			return false;
		if (!slash)
			return true;
		p = slash + 1;
	}
}

/* A host name or address, with an optional :PORT. */
static bool host_ok(const char *h)
{
	const char *colon = strchr(h, ':');
	size_t len = colon ? (size_t)(colon - h) : strlen(h);

	if (len == 0 || h[0] == '-' || h[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!g_ascii_isalnum(h[i]) && h[i] != '.' && h[i] != '-')
			return false;
	}
	if (!colon)
		return true;
	if (!colon[1] || strlen(colon + 1) > 5)
		return false;
	for (const char *p = colon + 1; *p; p++) {
		if (!g_ascii_isdigit(*p))
			return false;
	}
	return true;
}

static bool tag_ok(const char *t)
{
	size_t len = strlen(t);

	if (len == 0 || len > TAG_MAX_LEN ||
	    !(g_ascii_isalnum(t[0]) || t[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++) {
		if (!g_ascii_isalnum(t[i]) && !strchr("_.-", t[i]))
			return false;
	}
	return true;
}

/* Whether @first (the part before the first '/') names a registry. */
static bool is_host(const char *first, size_t len)
{
	return memchr(first, '.', len) || memchr(first, ':', len) ||
	       (len == 9 && memcmp(first, "localhost", 9) == 0);
}

static gboolean bad(GError **error, const char *s, const char *why)
{
	return lfs_fail(error, EINVAL, "%s%s: %s", LFS_REGISTRY_PREFIX, s, why);
}

gboolean lfs_registry_ref_parse(const char *s, struct lfs_registry_ref **out,
				GError **error)
{
	g_autoptr(lfs_registry_ref) r = g_new0(struct lfs_registry_ref, 1);
	g_autofree char *name = NULL;
	const char *at = strchr(s, '@'), *slash, *colon;
	size_t first_len;

	if (!*s)
		return bad(error, s, "no repository named");
	if (at) {
		if (lfs_digest_parse(at + 1, &r->digest) < 0)
			return bad(error, s,
				   "not a digest after '@' (sha256:HEX)");
		r->has_digest = true;
		name = g_strndup(s, (gsize)(at - s));
	} else {
		name = g_strdup(s);
	}
	/* The tag's ':' is the last one after the last '/' (a host's port
	 * comes before it). */
	slash = strrchr(name, '/');
	colon = strrchr(slash ? slash : name, ':');
	if (colon) {
		r->tag = g_strdup(colon + 1);
		name[colon - name] = '\0';
		if (!tag_ok(r->tag))
			return bad(error, s,
				   "a tag is letters, digits, '_', '.' and "
				   "'-', at most 128, not starting with '.' "
				   "or '-'");
	}
	slash = strchr(name, '/');
	first_len = slash ? (size_t)(slash - name) : 0;
	if (slash && is_host(name, first_len)) {
		r->host = g_strndup(name, first_len);
		r->repo = g_strdup(slash + 1);
	} else {
		r->host = g_strdup(DOCKER_HUB);
		r->repo = g_strdup(name);
	}
	if (!host_ok(r->host))
		return bad(error, s, "not a registry host (HOST[:PORT])");
	if (strcmp(r->host, "index.docker.io") == 0) {
		g_free(r->host);
		r->host = g_strdup(DOCKER_HUB);
	}
	if (strcmp(r->host, DOCKER_HUB) == 0 && !strchr(r->repo, '/')) {
		char *lib = g_strconcat("library/", r->repo, NULL);

		g_free(r->repo);
		r->repo = lib;
	}
	if (!repo_ok(r->repo))
		return bad(error, s,
			   "a repository is lower-case letters and digits, "
			   "in components joined by '/', separated inside by "
			   "'.', '_' or '-'");
	if (strlen(r->host) + 1 + strlen(r->repo) > NAME_MAX_LEN)
		return bad(error, s, "the name is longer than 255 bytes");
	if (!r->tag && !r->has_digest)
		r->tag = g_strdup("latest");
	r->api_host = g_strdup(strcmp(r->host, DOCKER_HUB) == 0
				       ? DOCKER_HUB_API
				       : r->host);
	*out = g_steal_pointer(&r);
	return TRUE;
}

char *lfs_registry_ref_string(const struct lfs_registry_ref *r)
{
	g_autofree char *digest =
		r->has_digest ? lfs_digest_to_string(&r->digest) : NULL;

	return g_strdup_printf("%s%s/%s%s%s%s%s", LFS_REGISTRY_PREFIX,
			       r->host, r->repo, r->tag ? ":" : "",
			       r->tag ? r->tag : "", digest ? "@" : "",
			       digest ? digest : "");
}

char *lfs_registry_ref_manifest(const struct lfs_registry_ref *r)
{
	return r->has_digest ? lfs_digest_to_string(&r->digest)
			     : g_strdup(r->tag);
}

void lfs_registry_ref_free(struct lfs_registry_ref *r)
{
	if (!r)
		return;
	g_free(r->host);
	g_free(r->api_host);
	g_free(r->repo);
	g_free(r->tag);
	g_free(r);
}
