#include "catalogue.h"

#include <string.h>

const struct metric_def *catalogue_find(const char *name)
{
	for (unsigned i = 0; i < vigil_catalogue_count; i++)
		if (strcmp(vigil_catalogue[i].name, name) == 0)
			return &vigil_catalogue[i];
	return NULL;
}
