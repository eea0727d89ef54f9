/**
 * Live Linux processes: their threads' registers and stacks, captured with {@code ptrace} and
 * {@code process_vm_readv} through {@code java.lang.foreign}, for a walk with the modules,
 * symbols and call-frame information of {@code dev.unwinder.elf}.
 *
 * <p>Its system calls are restricted methods: run with
 * {@code --enable-native-access=dev.unwinder.process} on the module path.
 */
module dev.unwinder.process {
    requires transitive dev.unwinder.elf;
    requires java.management;

    exports dev.unwinder.process;
}
