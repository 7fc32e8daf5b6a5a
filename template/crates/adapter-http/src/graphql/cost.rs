//! What a GraphQL document will cost, worked out before any of it runs.
//!
//! async-graphql measures depth and complexity by walking the document with every fragment
//! spread expanded where it is used, and compares with the limits only after the walk: a 1 KB
//! document of fragments that each spread the next one twice is 2^30 steps of synchronous work
//! in one poll, which no timeout can interrupt. So before the schema sees a document, this
//! module sizes it once, each fragment measured once (memoised), and refuses it when
//! - its brackets nest deeper than any sensible query (the parser recurses once per level),
//! - a fragment spreads itself, directly or through others,
//! - fully expanded, it holds more fields than `max_complexity` or nests deeper than
//!   `max_depth` (the limits the schema applies after it, now on a bounded document),
//! - it runs more mutations than `max_mutations`.
//!
//! What it measures also says how many times the document reaches storage, which the handler
//! charges to the caller's rate limit, as if each were a REST request. This module knows the
//! schema only by the names of the fields that reach storage; it must not run anything.

use std::collections::{HashMap, HashSet};

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};
use async_graphql::{Name, Positioned};

use super::GraphqlSettings;
use crate::problem::{ApiError, Problem};
use axum::http::StatusCode;

/// Deepest bracket nesting (`{`, `[`, `(`) a document may have before it is parsed.
const MAX_NESTING: usize = 64;

/// What an accepted document costs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Cost {
    /// Fields, every fragment expanded where it is spread.
    pub fields: u64,
    /// Deepest nesting of fields.
    pub depth: u64,
    /// Fields that read or write storage (each like one REST request).
    pub storage_calls: u64,
    /// Root fields of a mutation.
    pub mutations: u64,
    /// Whether every root field is introspection's (`__schema`, `__type`, `__typename`): tools
    /// ask the schema that way, with queries nested deeper than any data query needs.
    pub introspection: bool,
}

/// Refuses a query string whose brackets nest deeper than [`MAX_NESTING`], before parsing.
/// Strings, block strings and comments are skipped, so brackets inside them do not count.
///
/// # Errors
/// A 400 problem naming the limit.
pub(crate) fn check_nesting(query: &str) -> Result<(), ApiError> {
    let (mut depth, mut deepest) = (0_usize, 0_usize);
    let mut characters = query.chars().peekable();
    while let Some(character) = characters.next() {
        match character {
            '#' => {
                for skipped in characters.by_ref() {
                    if skipped == '\n' || skipped == '\r' {
                        break;
                    }
                }
            }
            '"' => skip_string(&mut characters),
            '{' | '[' | '(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            '}' | ']' | ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if deepest > MAX_NESTING {
        return Err(refused(format!(
            "The query nests brackets {deepest} deep; at most {MAX_NESTING} are accepted."
        )));
    }
    Ok(())
}

/// Skips a string whose opening quote was just read: `"..."` with escapes, or `"""..."""`.
fn skip_string(characters: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    if characters.next_if_eq(&'"').is_some() {
        if characters.next_if_eq(&'"').is_none() {
            return; // `""`: the empty string.
        }
        let mut quotes = 0;
        while let Some(character) = characters.next() {
            match character {
                '\\' if characters.peek() == Some(&'"') => {
                    // `\"""` is an escaped triple quote inside a block string.
                    characters.next();
                    quotes = 0;
                }
                '"' => {
                    quotes += 1;
                    if quotes == 3 {
                        return;
                    }
                }
                _ => quotes = 0,
            }
        }
        return;
    }
    while let Some(character) = characters.next() {
        match character {
            '\\' => {
                characters.next();
            }
            '"' | '\n' | '\r' => return,
            _ => {}
        }
    }
}

/// Sizes the operation `operation_name` picks (the only one, when the document has one).
///
/// # Errors
/// A 400 problem when the document breaks one of the limits in the module documentation.
pub(crate) fn measure(
    document: &ExecutableDocument,
    operation_name: Option<&str>,
    settings: &GraphqlSettings,
    reaches_storage: fn(&str) -> bool,
) -> Result<Cost, ApiError> {
    let operation = match (&document.operations, operation_name) {
        (DocumentOperations::Single(operation), _) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next()
        }
        // No operation to run: the schema reports that, with its own words.
        (DocumentOperations::Multiple(_), None) => None,
    };
    let Some(operation) = operation else {
        return Ok(Cost::default());
    };
    let mut sizes = Sizes::new(document, reaches_storage);
    let size = sizes.selection_set(&operation.node.selection_set.node)?;
    let introspection = size.root_fields > 0 && size.root_fields == size.root_introspection;
    let cost = Cost {
        fields: size.fields,
        depth: size.depth,
        storage_calls: size.storage_calls,
        mutations: if operation.node.ty == OperationType::Mutation {
            size.root_fields
        } else {
            0
        },
        introspection,
    };
    let limit = |value: usize| u64::try_from(value).unwrap_or(u64::MAX);
    // Introspection is nested deep by nature (`ofType { ofType { ... } }`); where it is on,
    // its queries are bounded by their size alone. Off, the schema refuses them anyway.
    if cost.depth > limit(settings.max_depth) && !(cost.introspection && settings.introspection) {
        return Err(refused("Query is nested too deep.".to_owned()));
    }
    if cost.fields > limit(settings.max_complexity) {
        return Err(refused(format!(
            "Query is too complex: it selects {} fields with every fragment expanded; at most {} are accepted.",
            cost.fields, settings.max_complexity
        )));
    }
    if cost.mutations > limit(settings.max_mutations) {
        return Err(refused(format!(
            "The document runs {} mutations; at most {} are accepted in one request.",
            cost.mutations, settings.max_mutations
        )));
    }
    Ok(cost)
}

fn refused(detail: String) -> ApiError {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "query-too-costly",
        "Query too costly",
    )
    .with_detail(detail)
    .into()
}

/// The size of one selection set, fragments expanded.
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    fields: u64,
    depth: u64,
    storage_calls: u64,
    /// Fields at this set's own level (through fragments and inline fragments).
    root_fields: u64,
    /// Of those, introspection's (`__schema`, `__type`, `__typename`).
    root_introspection: u64,
}

impl Size {
    /// This size and `other`, side by side in one selection set.
    fn beside(self, other: Self) -> Self {
        Self {
            fields: self.fields.saturating_add(other.fields),
            depth: self.depth.max(other.depth),
            storage_calls: self.storage_calls.saturating_add(other.storage_calls),
            root_fields: self.root_fields.saturating_add(other.root_fields),
            root_introspection: self
                .root_introspection
                .saturating_add(other.root_introspection),
        }
    }
}

struct Sizes<'a> {
    document: &'a ExecutableDocument,
    reaches_storage: fn(&str) -> bool,
    /// Each fragment's size, computed once: what keeps repeated spreads linear.
    measured: HashMap<&'a Name, Size>,
    /// Fragments being measured now: meeting one again is a cycle.
    measuring: HashSet<&'a Name>,
    /// Selections visited, to show the work stays proportional to the document.
    steps: u64,
}

impl<'a> Sizes<'a> {
    fn new(document: &'a ExecutableDocument, reaches_storage: fn(&str) -> bool) -> Self {
        Self {
            document,
            reaches_storage,
            measured: HashMap::new(),
            measuring: HashSet::new(),
            steps: 0,
        }
    }

    fn selection_set(&mut self, set: &'a SelectionSet) -> Result<Size, ApiError> {
        let mut total = Size::default();
        for selection in &set.items {
            self.steps += 1;
            let size = match &selection.node {
                Selection::Field(field) => {
                    let below = self.selection_set(&field.node.selection_set.node)?;
                    let storage = u64::from((self.reaches_storage)(field.node.name.node.as_str()));
                    Size {
                        fields: below.fields.saturating_add(1),
                        depth: below.depth.saturating_add(1),
                        storage_calls: below.storage_calls.saturating_add(storage),
                        root_fields: 1,
                        root_introspection: u64::from(
                            field.node.name.node.as_str().starts_with("__"),
                        ),
                    }
                }
                Selection::FragmentSpread(spread) => self.fragment(&spread.node.fragment_name)?,
                Selection::InlineFragment(inline) => {
                    self.selection_set(&inline.node.selection_set.node)?
                }
            };
            total = total.beside(size);
        }
        Ok(total)
    }

    fn fragment(&mut self, name: &'a Positioned<Name>) -> Result<Size, ApiError> {
        if let Some(size) = self.measured.get(&name.node) {
            return Ok(*size);
        }
        // An unknown fragment is the schema's to report; it adds nothing here.
        let Some(fragment) = self.document.fragments.get(&name.node) else {
            return Ok(Size::default());
        };
        if !self.measuring.insert(&name.node) {
            return Err(
                Problem::bad_request(format!("Fragment {} spreads itself.", name.node)).into(),
            );
        }
        let size = self.selection_set(&fragment.node.selection_set.node)?;
        self.measuring.remove(&name.node);
        self.measured.insert(&name.node, size);
        Ok(size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> GraphqlSettings {
        GraphqlSettings {
            max_depth: 8,
            max_complexity: 1000,
            max_mutations: 10,
            introspection: true,
        }
    }

    fn storage(field: &str) -> bool {
        matches!(field, "items" | "createItem")
    }

    fn cost(query: &str) -> Result<Cost, ApiError> {
        check_nesting(query)?;
        let document = async_graphql::parser::parse_query(query).unwrap();
        measure(&document, None, &settings(), storage)
    }

    /// `{ inner }`, written without two braces in a row (the template engine's marker).
    fn block(inner: &str) -> String {
        format!("{} {inner} {}", '{', '}')
    }

    /// Thirty fragments, each spreading the next twice: 2^30 fields once expanded.
    fn doubling_fragments(count: usize) -> String {
        let mut query = String::from("{ me { ...F0 } }");
        for index in 0..count {
            query.push_str(&format!(
                " fragment F{index} on Caller {}",
                block(&format!("subject ...F{next} ...F{next}", next = index + 1))
            ));
        }
        query.push_str(&format!(
            " fragment F{count} on Caller {}",
            block("subject")
        ));
        query
    }

    #[test]
    fn fragments_are_measured_once_however_often_they_are_spread() {
        let query = doubling_fragments(30);
        let refused = cost(&query).unwrap_err();
        assert_eq!(refused.problem().problem_type, "/problems/query-too-costly");
        let document = async_graphql::parser::parse_query(&query).unwrap();
        let mut sizes = Sizes::new(&document, storage);
        let operation = match &document.operations {
            DocumentOperations::Single(operation) => operation,
            DocumentOperations::Multiple(_) => unreachable!("one anonymous operation"),
        };
        let size = sizes
            .selection_set(&operation.node.selection_set.node)
            .unwrap();
        assert_eq!(
            size.fields,
            1 + (1 << 31) - 1,
            "me, then 2^31 - 1 subjects expanded"
        );
        assert!(
            sizes.steps <= 3 * 32,
            "{} steps: linear in the document, not in its expansion",
            sizes.steps
        );
        // me, then 1 + 2 + 4 + 8 subjects.
        assert_eq!(cost(&doubling_fragments(3)).unwrap().fields, 1 + 15);
    }

    #[test]
    fn a_fragment_that_spreads_itself_is_refused_instead_of_followed() {
        let refused =
            cost("{ me { ...A } } fragment A on Caller { ...B } fragment B on Caller { ...A }")
                .unwrap_err();
        assert_eq!(refused.problem().status, 400);
    }

    #[test]
    fn brackets_nested_past_the_limit_are_refused_before_parsing_but_not_inside_strings() {
        let deep = format!("{}{}", "{ a ".repeat(1000), "}".repeat(1000));
        assert!(check_nesting(&deep).is_err());
        let arguments = format!(
            "a(s: \"{}\", t: \"\"\"{}\"\"\")",
            "{".repeat(500),
            "[".repeat(500)
        );
        let quoted = format!("{} # {}", block(&arguments), "(".repeat(500));
        assert!(check_nesting(&quoted).is_ok());
    }

    #[test]
    fn storage_calls_count_every_alias_and_mutations_every_root_field() {
        let reads =
            cost("{ a: items { __typename } b: items { __typename } me { subject } }").unwrap();
        assert_eq!((reads.storage_calls, reads.mutations), (2, 0));
        let writes = cost(
            "mutation { a: createItem { id } b: createItem { id } ...More } fragment More on Mutation { c: createItem { id } }",
        )
        .unwrap();
        assert_eq!((writes.storage_calls, writes.mutations), (3, 3));
        let many: String = (0..11)
            .map(|n| format!(" m{n}: createItem {}", block("id")))
            .collect();
        assert!(
            cost(&format!("mutation {}", block(&many))).is_err(),
            "past max_mutations"
        );
    }

    #[test]
    fn introspection_is_bounded_by_its_size_where_it_is_on() {
        let deep = "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } }";
        let document = async_graphql::parser::parse_query(deep).unwrap();
        let cost = measure(&document, None, &settings(), storage).unwrap();
        assert!(cost.introspection && cost.depth > 8);
        let off = GraphqlSettings {
            introspection: false,
            ..settings()
        };
        assert!(measure(&document, None, &off, storage).is_err());
        let mixed = "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } me { subject } }";
        let document = async_graphql::parser::parse_query(mixed).unwrap();
        assert!(
            measure(&document, None, &settings(), storage).is_err(),
            "a data field beside it keeps the depth limit"
        );
    }

    #[test]
    fn depth_counts_fields_not_fragments() {
        let nested =
            cost("{ me { ... on Caller { ...F } } } fragment F on Caller { subject }").unwrap();
        assert_eq!(nested.depth, 2);
        assert!(
            cost(&format!("{}{}", "{ a ".repeat(9), "}".repeat(9))).is_err(),
            "past max_depth"
        );
    }
}
