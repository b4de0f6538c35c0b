//! `isotp request`: one functional request, and every responder's answer, one line each.

use std::time::Duration;

use clap::{Args, ValueEnum};
use isotp::discovery::{FunctionalRequest, IdRange};
use isotp::CanId;

use crate::commands::send::require_iface;
use crate::error::{CliError, CliResult};
use crate::hex;
use crate::iface::{self, IfaceArg};
use crate::link_options::{self, parse_can_id, parse_seconds, FlowArgs, LinkArgs};
use crate::output::{JsonObject, Out};

/// `isotp request`.
#[derive(Args, Debug)]
pub struct RequestArgs {
    #[command(flatten)]
    pub iface: IfaceArg,

    /// The functional request id (hex): 7DF (OBD-II), 18DB33F1 (normal fixed, 29-bit), or any id
    /// with --collect
    #[arg(long, value_name = "ID", value_parser = parse_can_id)]
    pub functional: CanId,

    /// The response ids to collect, e.g. 7E8-7EF (default: 7E8-7EF for 7DF; for 18DBttss, any
    /// 18DAssxx). Each responder's flow control goes on its paired id: 8 below for 11-bit ids
    /// (7E8 -> 7E0), target and source swapped for 18DAxxxx
    #[arg(long, value_name = "RANGE", value_parser = parse_range)]
    pub collect: Option<IdRange>,

    /// How long to wait for answers, restarted by each first frame
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, default_value = "0.2")]
    pub timeout: Duration,

    /// The longest the whole request may take, however often responders restart their answers or
    /// say "response pending" (7F xx 78)
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds, default_value = "30")]
    pub limit: Duration,

    /// How answers are printed
    #[arg(long, value_enum, default_value_t = AnswerFormat::Text)]
    pub format: AnswerFormat,

    #[command(flatten)]
    pub link: LinkArgs,

    #[command(flatten)]
    pub flow: FlowArgs,

    /// The request's bytes in hex (`09 02`, or `0902`)
    #[arg(value_name = "HEX", required = true)]
    pub data: Vec<String>,
}

/// How `isotp request` prints answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AnswerFormat {
    /// `7E8  49 02 01 ...`, one line per answer
    Text,
    /// One JSON object per line: {"id": "7E8", "payload": "4902..."}
    Json,
}

fn parse_range(text: &str) -> Result<IdRange, String> {
    text.parse().map_err(|e| format!("{e}"))
}

/// Runs `isotp request`.
pub fn run(args: &RequestArgs) -> CliResult {
    let payload = hex::parse_bytes(&args.data.join(" "))
        .map_err(|e| CliError::usage(format!("bad hex in the request: {e}")))?;
    let request = match args.collect {
        Some(range) => FunctionalRequest::with_response_ids(args.functional, range),
        None => FunctionalRequest::for_functional_id(args.functional),
    }
    .map_err(|e| CliError::usage(e.to_string()))?
    .with_window(args.timeout)
    .with_overall_limit(args.limit)
    .with_config(link_options::config(&args.link, Some(&args.flow))?);
    let bus = iface::open(require_iface(args.iface.iface.as_deref())?)?;
    let answers = request
        .run(&isotp::Node::new(bus), &payload)
        .map_err(|e| match e {
            isotp::discovery::FunctionalError::Bus(b) => CliError::failure(b.to_string()),
            e => CliError::usage(e.to_string()),
        })?;
    let mut out = Out::live();
    let mut delivered = 0;
    for answer in &answers.responses {
        let id = answer.response_id.to_string();
        let line = match (&answer.outcome, args.format) {
            (Ok(p), AnswerFormat::Text) => format!("{id}  {}", hex::spaced(p)),
            (Ok(p), AnswerFormat::Json) => JsonObject::new()
                .string("id", &id)
                .string("payload", &hex::compact(p))
                .finish(),
            (Err(e), AnswerFormat::Text) => format!("{id}  error: {e}"),
            (Err(e), AnswerFormat::Json) => JsonObject::new()
                .string("id", &id)
                .string("error", &e.to_string())
                .finish(),
        };
        delivered += usize::from(answer.outcome.is_ok());
        out.line(&line)?;
    }
    if let Some(cut_off) = &answers.cut_off {
        return Err(CliError::failure(cut_off.to_string()));
    }
    if delivered == 0 {
        return Err(CliError::failure(format!(
            "no complete answer within {}",
            crate::output::seconds_text(args.timeout)
        )));
    }
    Ok(())
}
