/* Strict, self-describing JSON getters on top of json-glib (see json.h). */
#include <errno.h>

#include "layerfs/error.h"
#include "layerfs/json.h"

gboolean lfs_json_parse(const char *data, size_t len, const char *what,
			bool want_array, JsonNode **out, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	g_autoptr(GError) local = NULL;
	JsonNode *root;

	if (!json_parser_load_from_data(parser, data, (gssize)len, &local))
		return lfs_fail(error, EINVAL, "%s: malformed JSON: %s", what,
				local->message);
	root = json_parser_get_root(parser);
	if (!root || JSON_NODE_TYPE(root) !=
			     (want_array ? JSON_NODE_ARRAY : JSON_NODE_OBJECT))
		return lfs_fail(error, EINVAL, "%s: top level is not a JSON %s",
				what, want_array ? "array" : "object");
	*out = json_node_ref(root);
	return TRUE;
}

/* Look a member up; *node is NULL when absent and not required. */
static gboolean member(JsonObject *o, const char *name, bool required,
		       const char *what, JsonNode **node, GError **error)
{
	*node = json_object_get_member(o, name);
	if (!*node && required)
		return lfs_fail(error, EINVAL, "%s: missing \"%s\"", what,
				name);
	/* An explicit null is treated as absent, as Go's decoders do. */
	if (*node && JSON_NODE_HOLDS_NULL(*node)) {
		*node = NULL;
		if (required)
			return lfs_fail(error, EINVAL, "%s: \"%s\" is null",
					what, name);
	}
	return TRUE;
}

static gboolean node_string(JsonNode *n, const char *what, const char *name,
			    const char **out, GError **error)
{
	if (!JSON_NODE_HOLDS_VALUE(n) ||
	    json_node_get_value_type(n) != G_TYPE_STRING)
		return lfs_fail(error, EINVAL, "%s%s%s: not a string", what,
				name ? "." : "", name ? name : "");
	*out = json_node_get_string(n);
	return TRUE;
}

gboolean lfs_json_string(JsonObject *o, const char *name, bool required,
			 const char *what, const char **out, GError **error)
{
	JsonNode *n;

	if (!member(o, name, required, what, &n, error))
		return FALSE;
	if (!n)
		return TRUE;
	return node_string(n, what, name, out, error);
}

gboolean lfs_json_int(JsonObject *o, const char *name, bool required,
		      const char *what, int64_t *out, GError **error)
{
	JsonNode *n;

	if (!member(o, name, required, what, &n, error))
		return FALSE;
	if (!n)
		return TRUE;
	if (!JSON_NODE_HOLDS_VALUE(n) ||
	    json_node_get_value_type(n) != G_TYPE_INT64)
		return lfs_fail(error, EINVAL, "%s.%s: not an integer", what,
				name);
	*out = json_node_get_int(n);
	return TRUE;
}

gboolean lfs_json_object(JsonObject *o, const char *name, bool required,
			 const char *what, JsonObject **out, GError **error)
{
	JsonNode *n;

	if (!member(o, name, required, what, &n, error))
		return FALSE;
	if (!n)
		return TRUE;
	if (!JSON_NODE_HOLDS_OBJECT(n))
		return lfs_fail(error, EINVAL, "%s.%s: not an object", what,
				name);
	*out = json_node_get_object(n);
	return TRUE;
}

gboolean lfs_json_array(JsonObject *o, const char *name, bool required,
			const char *what, JsonArray **out, GError **error)
{
	JsonNode *n;

	if (!member(o, name, required, what, &n, error))
		return FALSE;
	if (!n)
		return TRUE;
	if (!JSON_NODE_HOLDS_ARRAY(n))
		return lfs_fail(error, EINVAL, "%s.%s: not an array", what,
				name);
	*out = json_node_get_array(n);
	return TRUE;
}

gboolean lfs_json_elem_object(JsonArray *a, guint i, const char *what,
			      JsonObject **out, GError **error)
{
	JsonNode *n = json_array_get_element(a, i);

	if (!JSON_NODE_HOLDS_OBJECT(n))
		return lfs_fail(error, EINVAL, "%s[%u]: not an object", what,
				i);
	*out = json_node_get_object(n);
	return TRUE;
}

gboolean lfs_json_elem_string(JsonArray *a, guint i, const char *what,
			      const char **out, GError **error)
{
	g_autofree char *elem = g_strdup_printf("%s[%u]", what, i);

	return node_string(json_array_get_element(a, i), elem, NULL, out,
			   error);
}
