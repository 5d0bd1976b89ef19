#include "metrics_view.h"

#include <json-c/json.h>

void metrics_print_table(FILE *f, const struct metric_def *defs, unsigned n)
{
	fprintf(f, "%-20s %-8s %-8s %-8s %s\n", "METRIC", "UNIT", "LAYER", "KIND", "TAGS");
	for (unsigned i = 0; i < n; i++) {
		const struct metric_def *m = &defs[i];

		fprintf(f, "%-20s %-8s %-8s %-8s %s\n", m->name, m->unit, m->layer, m->kind, m->tags);
		fprintf(f, "    %s\n", m->description);
	}
}

static json_object *metric_json(const struct metric_def *m)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(m->name));
	json_object_object_add(o, "unit", json_object_new_string(m->unit));
	json_object_object_add(o, "layer", json_object_new_string(m->layer));
	json_object_object_add(o, "kind", json_object_new_string(m->kind));
	json_object_object_add(o, "tags", json_object_new_string(m->tags));
	json_object_object_add(o, "description", json_object_new_string(m->description));
	return o;
}

int metrics_print_json(FILE *f, const struct metric_def *defs, unsigned n)
{
	json_object *root = json_object_new_array();

	if (!root)
		return -1;
	for (unsigned i = 0; i < n; i++)
		json_object_array_add(root, metric_json(&defs[i]));
	fprintf(f, "%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return 0;
}
