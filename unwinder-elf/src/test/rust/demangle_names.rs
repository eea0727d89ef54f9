// A Rust program whose symbols exercise the demangler: generics, closures, trait objects with
// associated types, inherent and trait impls, nested modules, a non-ASCII identifier (punycode in
// the v0 scheme), const generics, higher-ranked fn pointers, arrays, slices, tuples and raw
// pointers. DemanglerRustTest compiles it with the legacy and the v0 mangling and compares every
// symbol's demangling with c++filt's. It is never run. Written for rustc 1.63 (Debian 12) and later.
#![allow(dead_code)]
#![allow(uncommon_codepoints)]
use std::collections::HashMap;

/// Hides a value from the optimizer, as std::hint::black_box (stable only since 1.66) does.
#[inline(never)]
fn opaque<T>(x: T) -> T {
    x
}

pub mod shapes {
    pub mod flat {
        #[derive(Debug, Clone, Copy)]
        pub struct Square<const N: usize> {
            pub side: [u32; N],
        }

        impl<const N: usize> Square<N> {
            #[inline(never)]
            pub fn area(&self) -> u64 {
                self.side.iter().map(|s| *s as u64).product()
            }
        }
    }

    pub trait Shape {
        type Unit;
        fn size(&self) -> Self::Unit;
    }

    impl<const N: usize> Shape for flat::Square<N> {
        type Unit = u64;
        #[inline(never)]
        fn size(&self) -> u64 {
            self.area()
        }
    }
}

pub struct Grüße<T> {
    pub items: Vec<T>,
}

impl<T: Clone + std::fmt::Debug> Grüße<T> {
    #[inline(never)]
    pub fn grüßen(&self, times: usize) -> Vec<T> {
        self.items.iter().cycle().take(times).cloned().collect()
    }
}

#[inline(never)]
pub fn flag<const B: bool, const C: char, const I: i32>() -> String {
    format!("{}{}{}", B, C, I)
}

#[inline(never)]
pub fn apply<'a>(f: for<'b> fn(&'b str, &'a str) -> &'b str, x: &'a str) -> usize {
    f(opaque("abc"), x).len()
}

fn first<'b>(a: &'b str, _b: &str) -> &'b str {
    a
}

#[inline(never)]
pub fn total(shapes: &[&dyn shapes::Shape<Unit = u64>]) -> u64 {
    shapes.iter().map(|s| s.size()).sum()
}

#[inline(never)]
pub fn pairs<A: Copy, B: Copy>(xs: &[(A, B)], p: *const u8) -> (Vec<A>, Vec<B>, usize) {
    (xs.iter().map(|x| x.0).collect(), xs.iter().map(|x| x.1).collect(), p as usize)
}

#[inline(never)]
pub fn with_closure<F: Fn(i64) -> i64>(f: F) -> i64 {
    let g = move |x: i64| f(x) * 2;
    opaque(g)(21)
}

fn main() {
    let sq = shapes::flat::Square::<2> { side: [3, 4] };
    let dyns: Vec<&dyn shapes::Shape<Unit = u64>> = vec![&sq];
    let g = Grüße { items: vec![1u8, 2] };
    let mut counts: HashMap<String, usize> = HashMap::new();
    counts.insert(flag::<true, 'x', { -3 }>(), apply(first, "de"));
    let (a, b, c) = pairs(&[(1u16, 'a'), (2, 'b')], std::ptr::null());
    println!(
        "{} {:?} {:?} {} {:?} {:?} {}",
        total(&dyns),
        g.grüßen(3),
        counts,
        with_closure(|x| x + 1),
        a,
        b,
        c
    );
}
