//! Enums whose numbers cross a pipe from a forked child to its parent (the step a child stopped
//! at, for the parent's error message).

/// Declares a `#[repr(u32)]` enum and its `from_u32` from one list of variants, so that a new
/// variant cannot be left out of the decoder on the parent's side.
#[macro_export]
macro_rules! wire_enum {
    (
        $(#[$m:meta])*
        $vis:vis enum $name:ident {
            $(#[$fm:meta])* $first:ident = $start:literal,
            $($(#[$vm:meta])* $v:ident),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u32)]
        $vis enum $name {
            $(#[$fm])* $first = $start,
            $($(#[$vm])* $v),*
        }

        impl $name {
            /// The variant this number stands for, if any.
            pub fn from_u32(v: u32) -> Option<$name> {
                [$name::$first, $($name::$v),*]
                    .into_iter()
                    .find(|s| *s as u32 == v)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::wire_enum! {
        enum Probe {
            /// First.
            A = 3,
            B,
            /// Last.
            C,
        }
    }

    #[test]
    fn numbers_round_trip() {
        for (n, want) in [
            (3, Some(Probe::A)),
            (4, Some(Probe::B)),
            (5, Some(Probe::C)),
        ] {
            assert_eq!(Probe::from_u32(n), want);
        }
        assert_eq!(Probe::from_u32(0), None);
        assert_eq!(Probe::from_u32(6), None);
    }
}
