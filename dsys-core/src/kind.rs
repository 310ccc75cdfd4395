//! Finds a message's kind (its enum variant or struct name) through its own
//! `Serialize` implementation: a serializer that stops at the first name it
//! is shown. This is what gives [`crate::Message::kind`] its default.

use std::fmt;

use serde::ser::{self, Impossible, Serialize};

/// The name serde reports for `value`: the variant name for an enum, the
/// type name for a struct, `"message"` for anything else.
pub(crate) fn kind_of<T: Serialize + ?Sized>(value: &T) -> &'static str {
    match value.serialize(KindSerializer) {
        Err(Found(name)) => name,
        Ok(()) => "message",
    }
}

/// Not an error: the name was found, and serialization stops there.
#[derive(Debug)]
struct Found(&'static str);

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Found {}

impl ser::Error for Found {
    fn custom<T: fmt::Display>(_msg: T) -> Self {
        Found("message")
    }
}

struct KindSerializer;

type Nothing = Impossible<(), Found>;

macro_rules! plain {
    ($($method:ident: $ty:ty),* $(,)?) => {
        $(fn $method(self, _v: $ty) -> Result<(), Found> { Ok(()) })*
    };
}

impl ser::Serializer for KindSerializer {
    type Ok = ();
    type Error = Found;
    type SerializeSeq = Nothing;
    type SerializeTuple = Nothing;
    type SerializeTupleStruct = Nothing;
    type SerializeTupleVariant = Nothing;
    type SerializeMap = Nothing;
    type SerializeStruct = Nothing;
    type SerializeStructVariant = Nothing;

    plain!(
        serialize_bool: bool, serialize_i8: i8, serialize_i16: i16, serialize_i32: i32,
        serialize_i64: i64, serialize_u8: u8, serialize_u16: u16, serialize_u32: u32,
        serialize_u64: u64, serialize_f32: f32, serialize_f64: f64, serialize_char: char,
        serialize_str: &str, serialize_bytes: &[u8],
    );

    fn serialize_none(self) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _value: &T) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_unit(self) -> Result<(), Found> {
        Ok(())
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<(), Found> {
        Err(Found(name))
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Found> {
        Err(Found(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        _: &T,
    ) -> Result<(), Found> {
        Err(Found(name))
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: &T,
    ) -> Result<(), Found> {
        Err(Found(variant))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Nothing, Found> {
        Err(Found("message"))
    }
    fn serialize_tuple(self, _: usize) -> Result<Nothing, Found> {
        Err(Found("message"))
    }
    fn serialize_tuple_struct(self, name: &'static str, _: usize) -> Result<Nothing, Found> {
        Err(Found(name))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Nothing, Found> {
        Err(Found(variant))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Nothing, Found> {
        Err(Found("message"))
    }
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Nothing, Found> {
        Err(Found(name))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Nothing, Found> {
        Err(Found(variant))
    }
}

#[cfg(test)]
mod tests {
    use super::kind_of;
    use serde::Serialize;

    #[derive(Serialize)]
    enum E {
        Unit,
        Newtype(u8),
        Tuple(u8, u8),
        Struct { a: u8 },
    }
    #[derive(Serialize)]
    struct S {
        a: u8,
    }
    #[derive(Serialize)]
    struct Unit;

    #[test]
    fn names_variants_and_structs() {
        assert_eq!(kind_of(&E::Unit), "Unit");
        assert_eq!(kind_of(&E::Newtype(1)), "Newtype");
        assert_eq!(kind_of(&E::Tuple(1, 2)), "Tuple");
        assert_eq!(kind_of(&E::Struct { a: 1 }), "Struct");
        assert_eq!(kind_of(&S { a: 1 }), "S");
        assert_eq!(kind_of(&Unit), "Unit");
        assert_eq!(kind_of(&7u32), "message");
        assert_eq!(kind_of(&vec![1u8]), "message");
    }
}
