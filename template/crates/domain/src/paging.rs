//! Page sizes: how much one list request may ask for, the same bound for every resource. The
//! cursor that continues a list is each resource's own (it holds that resource's sort key);
//! sealing it for the client is the HTTP adapter's `cursor` module.

/// The page size is outside the accepted range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be between {min} and {max}, got {actual}")]
pub struct PageSizeOutOfRange {
    /// The smallest accepted page size.
    pub min: u32,
    /// The largest accepted page size.
    pub max: u32,
    /// The page size received.
    pub actual: u32,
}

/// How many records one page holds: 1 to 100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u32);

impl PageSize {
    /// The smallest page.
    pub const MIN: u32 = 1;
    /// The largest page: bounds the work one request can ask for.
    pub const MAX: u32 = 100;
    /// The page size when the client does not say.
    pub const DEFAULT: Self = Self(20);

    /// Checks a requested page size.
    ///
    /// # Errors
    /// [`PageSizeOutOfRange`] outside `MIN..=MAX`.
    pub fn new(requested: u32) -> Result<Self, PageSizeOutOfRange> {
        if (Self::MIN..=Self::MAX).contains(&requested) {
            Ok(Self(requested))
        } else {
            Err(PageSizeOutOfRange {
                min: Self::MIN,
                max: Self::MAX,
                actual: requested,
            })
        }
    }

    /// The size as a number.
    #[must_use]
    pub fn get(self) -> u32 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_bounds() {
        assert!(PageSize::new(0).is_err());
        assert_eq!(PageSize::new(1).unwrap().get(), 1);
        assert_eq!(PageSize::new(100).unwrap().get(), 100);
        assert!(PageSize::new(101).is_err());
    }
}
