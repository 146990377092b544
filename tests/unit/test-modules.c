// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * applier/modules.c on module trees made by the test with depmod: what is
 * built in counts as loaded, what is missing is named, a bad list is
 * refused with its line. (Inserting a real module needs a kernel's .ko
 * files and root: the QEMU scenarios do that.)
 */
#include <errno.h>
#include <stdlib.h>

#include "modules.h"
#include "testlib.h"

#define TREE "root/lib/modules/9.9.9-test"

/* A module tree with ext4 built in and no loadable module, indexed by
 * depmod as mkinitramfs.sh does. */
static void make_tree(void)
{
	CHECK_EQ(system("mkdir -p " TREE " root/etc/slotflip && "
			"echo kernel/fs/ext4/ext4.ko > " TREE
			"/modules.builtin && "
			"touch " TREE "/modules.order " TREE
			"/modules.builtin.modinfo && "
			"depmod -b root 9.9.9-test"),
		 0);
}

static int load_list(const char *text)
{
	struct sf_ctx ctx = test_ctx;

	if (text)
		test_write_file("root/etc/slotflip/modules", text,
				strlen(text));
	ctx.root = "root";
	test_log_buf[0] = '\0';
	return sf_modules_load_list(&ctx, SF_MODULES_PATH,
				    "/lib/modules/9.9.9-test");
}

TEST(builtin_module_counts_as_loaded)
{
	make_tree();
	CHECK_EQ(load_list("# the root filesystem\next4\n"), 0);
}

TEST(missing_module_is_named_and_counted)
{
	make_tree();
	CHECK_EQ(load_list("ext4\nvirtio_blk\nnope_fs\n"), 2);
	CHECK_LOG("module virtio_blk: not in this kernel's module tree");
	CHECK_LOG("module nope_fs: not in this kernel's module tree");
}

TEST(no_list_loads_nothing)
{
	make_tree();
	CHECK_EQ(load_list(NULL), 0);
	CHECK_STREQ(test_log_buf, "");
}

TEST(bad_list_refused_with_line)
{
	make_tree();
	CHECK_EQ(load_list("ext4\nvirtio blk\n"), -EINVAL);
	CHECK_LOG("modules:2: not a module name");
}
