/** The s390x backchain frame layout for unwinder, registered as an {@link dev.unwinder.api.Unwind} service. */
module dev.unwinder.arch.s390x {
    requires transitive dev.unwinder.api;
    requires static com.google.auto.service;

    exports dev.unwinder.arch.s390x;

    provides dev.unwinder.api.Unwind with dev.unwinder.arch.s390x.S390xUnwind;
}
