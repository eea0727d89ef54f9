/*
 * A program that writes down where its modules are, then dies by abort() in its shared library
 * (crashlib.c), for CoreModulesTest: the kernel's or qemu's core of it must place the same modules.
 * Before it crashes it writes, into its working directory:
 *   maps.txt     a copy of /proc/self/maps (qemu-user answers it with the guest's mappings);
 *   modules.txt  one line per module of dl_iterate_phdr: its load bias in hex, a space, its name
 *                (empty for the program itself), as the dynamic loader's link_map holds them.
 * Built by TestPrograms.java, linked with -lcrashlib and an rpath of $ORIGIN.
 */
#define _GNU_SOURCE
#include <link.h>
#include <stdio.h>
#include <stdlib.h>

void crash_in_library(int depth);

static int write_module(struct dl_phdr_info *info, size_t size, void *out) {
    (void) size;
    fprintf(out, "%lx %s\n", (unsigned long) info->dlpi_addr, info->dlpi_name);
    return 0;
}

static void copy(const char *from, const char *to) {
    FILE *in = fopen(from, "r");
    FILE *out = fopen(to, "w");
    int c;
    if (in == NULL || out == NULL) {
        exit(2);
    }
    while ((c = fgetc(in)) != EOF) {
        fputc(c, out);
    }
    fclose(in);
    fclose(out);
}

int main(void) {
    copy("/proc/self/maps", "maps.txt");
    FILE *modules = fopen("modules.txt", "w");
    if (modules == NULL) {
        return 2;
    }
    dl_iterate_phdr(write_module, modules);
    fclose(modules);
    crash_in_library(1);
    return 0;
}
