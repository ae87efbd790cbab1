/* Strict, self-describing JSON getters on top of json-glib (see json.h). */
#include <errno.h>
#include <string.h>

#include "layerfs/error.h"
#include "layerfs/json.h"

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

/* The value of the four hex digits at @p, or -1. */
static long hex4(const char *p)
{
	long v = 0;

	for (int k = 0; k < 4; k++) {
		int d = g_ascii_xdigit_value(p[k]);

		if (d < 0)
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/* Check the string at data[*i] (a '"') against JSON's grammar; advance *i
 * past it.  Returns NULL, or what is wrong.  json-glib 1.6 reads more
 * than JSON, and reads it otherwise: an escape it does not know, a \u
 * with fewer than four hex digits, or a surrogate not in a pair, can make
 * it take the closing quote for part of the string, and the text after
 * for more string or for structure.  A NUL (\u0000) would cut the C
 * string it hands over short. */
static const char *check_string(const char *data, size_t len, size_t *i)
{
	for (size_t j = *i + 1; j < len;) {
		unsigned char c = (unsigned char)data[j];
		long u;

		if (c == '"') {
			*i = j + 1;
			return NULL;
		}
		if (c < 0x20)
			return "a control character in a string";
		if (c != '\\') {
			j++;
			continue;
		}
		if (j + 1 >= len)
			break;
		if (data[j + 1] && strchr("\"\\/bfnrt", data[j + 1])) {
			j += 2;
			continue;
		}
		if (data[j + 1] != 'u')
			return "an escape JSON does not have";
		u = j + 6 <= len ? hex4(data + j + 2) : -1;
		if (u < 0)
			return "a \\u escape without four hex digits";
		if (u == 0)
			return "a NUL (\\u0000) in a string";
		if (u >= 0xdc00 && u <= 0xdfff)
			return "a lone UTF-16 surrogate";
		j += 6;
		if (u < 0xd800 || u > 0xdbff)
			continue;
		/* A high surrogate: its low one must follow. */
		u = j + 6 <= len && data[j] == '\\' && data[j + 1] == 'u'
			    ? hex4(data + j + 2)
			    : -1;
		if (u < 0xdc00 || u > 0xdfff)
			return "a lone UTF-16 surrogate";
		j += 6;
	}
	return "an unterminated string";
}

/* Check the word at data[*i] (a letter): true, false or null, as a run of
 * the characters json-glib reads words of.  Advance *i past it. */
static const char *check_word(const char *data, size_t len, size_t *i)
{
	static const char *const words[] = { "true", "false", "null" };
	size_t j = *i;

	while (j < len && (g_ascii_isalnum(data[j]) || data[j] == '_' ||
			   data[j] == '-'))
		j++;
	for (size_t k = 0; k < G_N_ELEMENTS(words); k++) {
		if (j - *i == strlen(words[k]) &&
		    memcmp(data + *i, words[k], j - *i) == 0) {
			*i = j;
			return NULL;
		}
	}
	return "a word JSON does not have";
}

/* What a character that starts no JSON token is, for the message. */
static const char *stray(char c)
{
	if (c == '/')
		return "a comment, which JSON does not have";
	if (c == '\'')
		return "a single-quoted string, which JSON does not have";
	return "a character JSON does not have here";
}

/* Image documents nest about six deep.  json-glib parses recursively, so a
 * hostile document a few million levels deep would overflow the stack. */
#define MAX_DEPTH 64

/* json-glib 1.6 reads more than JSON: comments ("/.../", so also C's),
 * single-quoted strings, hex and octal numbers, escapes JSON lacks;
 * trailing documents ("{} {}"); numbers the way strtoll does ("010" as
 * octal 8, out-of-range values clamped).  Image metadata must be exactly
 * one JSON value (RFC 8259), as Go's encoding/json (docker, containerd,
 * umoci) reads it, nested at most MAX_DEPTH deep.  So the raw text is
 * checked first, token by token as JSON has them, and anything else is
 * refused: then json-glib sees the very tokens counted here, and a
 * comment or a string cannot hide nesting from the count
 * (docs/decisions/0025).  The parser checks the rest of the grammar. */
static gboolean check_text(const char *data, size_t len, const char *what,
			   GError **error)
{
	int depth = 0;
	bool started = false;

	for (size_t i = 0; i < len;) {
		char c = data[i];
		size_t at = i;
		const char *why = NULL;

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
			why = check_string(data, len, &i);
		} else if (c == '-' || g_ascii_isdigit(c)) {
			if (!check_number(data, len, &i, what, error))
				return FALSE;
		} else if (g_ascii_isalpha(c)) {
			why = check_word(data, len, &i);
		} else if (c && strchr("{}[]:,", c)) {
			depth += (c == '{' || c == '[') - (c == '}' || c == ']');
			if (depth < 0)
				why = "a closing bracket with none open";
			else if (depth > MAX_DEPTH)
				return lfs_fail(error, EINVAL,
						"%s: malformed JSON: nested "
						"deeper than %d levels",
						what, MAX_DEPTH);
			i++;
		} else {
			why = stray(c);
		}
		if (why)
			return lfs_fail(error, EINVAL,
					"%s: malformed JSON: %s, at byte %zu",
					what, why, at);
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
