#[cfg(test)]
#[macro_use]
mod test_harness;

mod rules;
mod suggestion;
mod utils;
mod visitor;
mod visitors;

pub use visitor::VisitorContext;
use visitor::{VisitorNil, visit};

use crate::{
    CacheControl, ServerError, Variables, parser::types::ExecutableDocument, registry::Registry,
};

/// Validation results.
#[derive(Debug, Copy, Clone)]
pub struct ValidationResult {
    /// Cache control
    pub cache_control: CacheControl,

    /// Query complexity
    pub complexity: usize,

    /// Query depth
    pub depth: usize,
}

/// What a document's validation found that holds for every request with
/// the document (see `DocumentValidation`): its cache control, and the
/// arguments whose values read variables, the only ones the variables of
/// another request can make invalid.
#[derive(Debug, Clone, Default)]
pub struct StaticVerdict {
    cache_control: CacheControl,
    variable_arguments: Vec<rules::VariableArgument>,
}

/// Validation mode
#[derive(Copy, Clone, Debug)]
pub enum ValidationMode {
    /// Execute all validation rules.
    Strict,

    /// The executor itself also has error handling, so it can improve
    /// performance, but it can lose some error messages.
    Fast,
}

pub(crate) fn check_rules(
    registry: &Registry,
    doc: &ExecutableDocument,
    variables: Option<&Variables>,
    mode: ValidationMode,
    limit_complexity: Option<usize>,
    limit_depth: Option<usize>,
    static_rules_passed: Option<&StaticVerdict>,
    verdict: Option<&mut StaticVerdict>,
) -> Result<ValidationResult, Vec<ServerError>> {
    // The document passed every rule that reads only the document and the
    // schema (`DocumentValidation`), and no limit reads the variables: the
    // verdict and the cache control stand, and only the arguments whose
    // values read variables are checked again, against these variables.
    if let (Some(passed), ValidationMode::Strict, None, None) =
        (static_rules_passed, mode, limit_complexity, limit_depth)
    {
        let errors: Vec<ServerError> = passed
            .variable_arguments
            .iter()
            .filter_map(|argument| argument.check(registry, variables))
            .map(Into::into)
            .collect();
        if !errors.is_empty() {
            return Err(errors);
        }
        return Ok(ValidationResult {
            cache_control: passed.cache_control,
            complexity: 0,
            depth: 0,
        });
    }
    let static_rules_passed = static_rules_passed.is_some();
    let mut variable_arguments = Vec::new();
    let mut cache_control = CacheControl::default();
    let mut complexity = 0;
    let mut depth = 0;

    let errors = match mode {
        ValidationMode::Strict => {
            let mut ctx = VisitorContext::new(registry, doc, variables);
            if static_rules_passed {
                // The document passed every rule that reads only the document
                // and the schema (`DocumentValidation`): only the rule that
                // reads the variables runs again.
                let mut visitor = VisitorNil.with(rules::ArgumentsOfCorrectType::default());
                visit(&mut visitor, &mut ctx, doc);
            } else {
                let mut visitor = VisitorNil
                    .with(rules::ArgumentsOfCorrectType::recording(
                        &mut variable_arguments,
                    ))
                    .with(rules::DefaultValuesOfCorrectType)
                    .with(rules::FieldsOnCorrectType)
                    .with(rules::FragmentsOnCompositeTypes)
                    .with(rules::KnownArgumentNames::default())
                    .with(rules::NoFragmentCycles::default())
                    .with(rules::KnownFragmentNames)
                    .with(rules::KnownTypeNames)
                    .with(rules::NoUndefinedVariables::default())
                    .with(rules::NoUnusedFragments::default())
                    .with(rules::NoUnusedVariables::default())
                    .with(rules::UniqueArgumentNames::default())
                    .with(rules::UniqueVariableNames::default())
                    .with(rules::VariablesAreInputTypes)
                    .with(rules::VariableInAllowedPosition::default())
                    .with(rules::ScalarLeafs)
                    .with(rules::PossibleFragmentSpreads::default())
                    .with(rules::ProvidedNonNullArguments)
                    .with(rules::KnownDirectives::default())
                    .with(rules::DirectivesUnique)
                    .with(rules::OverlappingFieldsCanBeMerged::default())
                    .with(rules::UploadFile);
                visit(&mut visitor, &mut ctx, doc);
            }

            let mut visitor = VisitorNil
                .with(visitors::CacheControlCalculate {
                    cache_control: &mut cache_control,
                })
                .with(visitors::ComplexityCalculate::new(&mut complexity))
                .with(visitors::DepthCalculate::new(&mut depth));
            visit(&mut visitor, &mut ctx, doc);
            ctx.errors
        }
        ValidationMode::Fast => {
            let mut ctx = VisitorContext::new(registry, doc, variables);
            let mut visitor = VisitorNil
                .with(rules::NoFragmentCycles::default())
                .with(rules::UploadFile)
                .with(visitors::CacheControlCalculate {
                    cache_control: &mut cache_control,
                })
                .with(visitors::ComplexityCalculate::new(&mut complexity))
                .with(visitors::DepthCalculate::new(&mut depth));
            visit(&mut visitor, &mut ctx, doc);
            ctx.errors
        }
    };

    // check limit
    if let Some(limit_complexity) = limit_complexity
        && complexity > limit_complexity
    {
        return Err(vec![ServerError::new("Query is too complex.", None)]);
    }

    if let Some(limit_depth) = limit_depth
        && depth > limit_depth
    {
        return Err(vec![ServerError::new("Query is nested too deep.", None)]);
    }

    if !errors.is_empty() {
        return Err(errors.into_iter().map(Into::into).collect());
    }

    if let Some(verdict) = verdict
        && !static_rules_passed
    {
        *verdict = StaticVerdict {
            cache_control,
            variable_arguments,
        };
    }

    Ok(ValidationResult {
        cache_control,
        complexity,
        depth,
    })
}
