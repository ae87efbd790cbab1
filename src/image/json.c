/* Strict, self-describing JSON getters on top of json-glib (see json.h). */
#include <errno.h>

#include "layerfs/error.h"
#include "layerfs/json.h"

/* The index after the string starting at data[i] (a '"'). */
static size_t skip_string(const char *data, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (data[i] == '\\')
			i++;
		else if (data[i] == '"')
			return i + 1;
	}
	return len; /* unterminated: the parser reports it */
}

static size_t skip_digits(const char *data, size_t len, size_t i)
{
	while (i < len && g_ascii_isdigit(data[i]))
		i++;
	return i;
}

/* Check the number at data[*i] against JSON's grammar, and an integer
 * against int64's range; advance *i past it. */
static gboolean check_number(const char *data, size_t len, size_t *i,
			     const char *what, GError **error)
{
	size_t start = *i, j = *i;
	bool integer = true;
	g_autofree char *text = NULL;
	const char *why = NULL;

	j += data[j] == '-';
	if (j < len && data[j] == '0') {
		j++;
		if (j < len && g_ascii_isdigit(data[j]))
			why = "leading zero";
	} else if (j < len && g_ascii_isdigit(data[j])) {
		j = skip_digits(data, len, j);
	} else {
		why = "malformed number";
	}
	if (!why && j < len && data[j] == '.') {
		integer = false;
		if (j + 1 >= len || !g_ascii_isdigit(data[j + 1]))
			why = "malformed fraction";
		j = skip_digits(data, len, j + 1);
	}
	if (!why && j < len && (data[j] == 'e' || data[j] == 'E')) {
		integer = false;
		j += 1 + (j + 1 < len && (data[j + 1] == '+' ||
					  data[j + 1] == '-'));
		if (j >= len || !g_ascii_isdigit(data[j]))
			why = "malformed exponent";
		j = skip_digits(data, len, j);
	}
	text = g_strndup(data + start, j - start);
	if (!why && integer &&
	    !g_ascii_string_to_signed(text, 10, G_MININT64, G_MAXINT64, NULL,
				      NULL))
		why = "out of range";
	if (why)
		return lfs_fail(error, EINVAL,
				"%s: malformed JSON: number \"%s\" at byte "
				"%zu: %s",
				what, text, start, why);
	*i = j;
	return TRUE;
}

/* Image documents nest about six deep.  json-glib parses recursively, so a
 * hostile document a few million levels deep would overflow the stack. */
#define MAX_DEPTH 64

/* json-glib 1.6 accepts trailing documents ("{} {}") and reads numbers
 * the way strtoll does ("010" as octal 8, out-of-range values clamped).
 * Image metadata must be exactly one JSON value with JSON's own numbers,
 * nested at most MAX_DEPTH deep, so the raw text is checked for those
 * things first; the parser checks the rest of the grammar. */
static gboolean check_text(const char *data, size_t len, const char *what,
			   GError **error)
{
	int depth = 0;
	bool started = false;

	for (size_t i = 0; i < len;) {
		char c = data[i];

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			i++;
			continue;
		}
		if (started && depth == 0)
			return lfs_fail(error, EINVAL,
					"%s: malformed JSON: more data after "
					"the document, at byte %zu",
					what, i);
		if (c == '"') {
			i = skip_string(data, len, i);
		} else if (c == '-' || g_ascii_isdigit(c)) {
			if (!check_number(data, len, &i, what, error))
				return FALSE;
		} else {
			depth += (c == '{' || c == '[') - (c == '}' || c == ']');
			if (depth > MAX_DEPTH)
				return lfs_fail(error, EINVAL,
						"%s: malformed JSON: nested "
						"deeper than %d levels",
						what, MAX_DEPTH);
			i++;
		}
		started = true;
	}
	return TRUE;
}

gboolean lfs_json_parse(const char *data, size_t len, const char *what,
			bool want_array, JsonNode **out, GError **error)
{
	g_autoptr(JsonParser) parser = json_parser_new_immutable();
	g_autoptr(GError) local = NULL;
	JsonNode *root;

	if (!check_text(data, len, what, error))
		return FALSE;
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
