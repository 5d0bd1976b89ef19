/* Latency percentiles from the kernel's log2 histograms, and the disks of
 * a domain XML. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "disk_sampler.h"

static void test_quantiles(void **state)
{
	uint64_t hist[DISK_LAT_SLOTS] = { 0 };

	(void)state;
	assert_true(log2_hist_quantile_us(hist, DISK_LAT_SLOTS, 0.5) == -1);
	/* 90 calls in [2^10, 2^11) ns, 9 in [2^16, 2^17), 1 in [2^20, 2^21). */
	hist[10] = 90;
	hist[16] = 9;
	hist[20] = 1;
	assert_true(log2_hist_quantile_us(hist, DISK_LAT_SLOTS, 0.5) == 1.536);
	assert_true(log2_hist_quantile_us(hist, DISK_LAT_SLOTS, 0.9) == 1.536);
	assert_true(log2_hist_quantile_us(hist, DISK_LAT_SLOTS, 0.99) == 98.304);
	assert_true(log2_hist_quantile_us(hist, DISK_LAT_SLOTS, 1.0) == 1572.864);
}

static void test_domain_xml_disks(void **state)
{
	static const char xml[] =
		"<domain><devices>"
		"<disk type='file' device='disk'><source file='/var/lib/a.img'/><target dev='vda'/></disk>"
		"<disk type='file' device='cdrom'><source file='/x.iso'/><target dev='hdc'/></disk>"
		"<disk type='block' device='disk'><source dev='/dev/sdb'/><target dev='vdb'/></disk>"
		"<disk type='network' device='disk'><source protocol='rbd' name='p/i'/><target dev='vdc'/></disk>"
		"</devices></domain>";
	struct vm_disk disks[VM_MAX_DISKS];

	(void)state;
	/* The CD-ROM and the network disk (no host file) are left out. */
	assert_int_equal(domain_xml_disks(xml, disks, VM_MAX_DISKS), 2);
	assert_string_equal(disks[0].dev, "vda");
	assert_string_equal(disks[0].path, "/var/lib/a.img");
	assert_string_equal(disks[1].dev, "vdb");
	assert_string_equal(disks[1].path, "/dev/sdb");
	assert_int_equal(domain_xml_disks("<<", disks, VM_MAX_DISKS), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quantiles),
		cmocka_unit_test(test_domain_xml_disks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
