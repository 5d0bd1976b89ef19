/* The parts of a libvirt domain's XML that discovery needs: its network
 * interfaces and its disks. Parsed once per listing, on the discovery
 * thread, never per sample. See discovery.h for the contract. */
#include "discovery.h"

#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

/* The value of attribute name of the first element matching path below
 * node, copied into buf; "" if absent. */
static void xml_attr(xmlXPathContextPtr ctx, xmlNodePtr node, const char *path, const char *name, char *buf,
		     size_t len)
{
	xmlXPathObjectPtr found;
	xmlChar *v = NULL;

	buf[0] = '\0';
	ctx->node = node;
	found = xmlXPathEvalExpression((const xmlChar *)path, ctx);
	if (found && found->nodesetval && found->nodesetval->nodeNr > 0)
		v = xmlGetProp(found->nodesetval->nodeTab[0], (const xmlChar *)name);
	if (v)
		snprintf(buf, len, "%s", (const char *)v);
	xmlFree(v);
	xmlXPathFreeObject(found);
}

/* Calls each(ctx, node, out, i) for the elements matching path, until it
 * has filled max entries (each returns 1 when it filled entry i). Returns
 * the count, or -1 if the XML does not parse. */
static int xml_each(const char *xml, const char *path, void *out, unsigned max,
		    int (*each)(xmlXPathContextPtr, xmlNodePtr, void *, unsigned))
{
	xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
				      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	xmlXPathContextPtr ctx = doc ? xmlXPathNewContext(doc) : NULL;
	xmlXPathObjectPtr found = ctx ? xmlXPathEvalExpression((const xmlChar *)path, ctx) : NULL;
	int n = 0;

	if (!found) {
		xmlXPathFreeContext(ctx);
		xmlFreeDoc(doc);
		return -1;
	}
	for (int i = 0; found->nodesetval && i < found->nodesetval->nodeNr && (unsigned)n < max; i++)
		n += each(ctx, found->nodesetval->nodeTab[i], out, (unsigned)n);
	xmlXPathFreeObject(found);
	xmlXPathFreeContext(ctx);
	xmlFreeDoc(doc);
	return n;
}

static int one_nic(xmlXPathContextPtr ctx, xmlNodePtr iface, void *out, unsigned i)
{
	struct vm_nic *nic = (struct vm_nic *)out + i;

	xml_attr(ctx, iface, "target", "dev", nic->dev, sizeof(nic->dev));
	xml_attr(ctx, iface, "mac", "address", nic->mac, sizeof(nic->mac));
	return nic->dev[0] != '\0';
}

int domain_xml_nics(const char *xml, struct vm_nic *out, unsigned max)
{
	return xml_each(xml, "/domain/devices/interface", out, max, one_nic);
}

static int one_disk(xmlXPathContextPtr ctx, xmlNodePtr node, void *out, unsigned i)
{
	struct vm_disk *disk = (struct vm_disk *)out + i;

	xml_attr(ctx, node, "target", "dev", disk->dev, sizeof(disk->dev));
	xml_attr(ctx, node, "source", "file", disk->path, sizeof(disk->path));
	if (!disk->path[0])
		xml_attr(ctx, node, "source", "dev", disk->path, sizeof(disk->path));
	return disk->dev[0] && disk->path[0];
}

int domain_xml_disks(const char *xml, struct vm_disk *out, unsigned max)
{
	return xml_each(xml, "/domain/devices/disk[@device='disk']", out, max, one_disk);
}
