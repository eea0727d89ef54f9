/** The x86_64 (System V) frame layout: {@link dev.unwinder.arch.x86_64.X86_64Unwind}. */
package dev.unwinder.arch.x86_64;
