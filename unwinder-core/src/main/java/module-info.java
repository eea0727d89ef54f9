/**
 * The unwinder walker: {@link dev.unwinder.core.StackWalk} follows frame-pointer chains, strictly
 * to an entry fp or leniently to wherever a native chain ends, and
 * {@link dev.unwinder.core.Unwinders} finds the architecture plugins through
 * {@link java.util.ServiceLoader}.
 */
module dev.unwinder.core {
    requires transitive dev.unwinder.api;

    exports dev.unwinder.core;

    uses dev.unwinder.api.Unwind;
}
