/* Strict JSON access for image metadata.  Every getter checks the type and
 * names the document and member in its error ("img/index.json:
 * manifests[2].digest: not a string"), because a malformed manifest must give
 * the user a message that points at the problem. */
#ifndef LAYERFS_JSON_H
#define LAYERFS_JSON_H

#include <stdbool.h>
#include <stdint.h>

#include <json-glib/json-glib.h>

/* Parse @data (@len bytes) whose top level must be @want_array ? an array :
 * an object.  @what names the document in errors.  The returned node owns
 * the tree (json_node_unref). */
gboolean lfs_json_parse(const char *data, size_t len, const char *what,
			bool want_array, JsonNode **out, GError **error);

/* Member getters.  A missing member is an error when @required, else the
 * out-value is left as NULL / untouched and TRUE returned.  @what names the
 * enclosing object ("index.json: manifests[0]"). */
gboolean lfs_json_string(JsonObject *o, const char *member, bool required,
			 const char *what, const char **out, GError **error);
gboolean lfs_json_int(JsonObject *o, const char *member, bool required,
		      const char *what, int64_t *out, GError **error);
gboolean lfs_json_object(JsonObject *o, const char *member, bool required,
			 const char *what, JsonObject **out, GError **error);
gboolean lfs_json_array(JsonObject *o, const char *member, bool required,
			const char *what, JsonArray **out, GError **error);

/* Element @i of @a as an object or a string; @what names the array. */
gboolean lfs_json_elem_object(JsonArray *a, guint i, const char *what,
			      JsonObject **out, GError **error);
gboolean lfs_json_elem_string(JsonArray *a, guint i, const char *what,
			      const char **out, GError **error);

#endif
