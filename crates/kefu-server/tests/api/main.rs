//! The server's integration tests: one binary, a real server per test.

mod accounts;
mod bad_input;
mod bot;
mod cards;
mod chat;
mod helpers;
mod images;
mod knowledge;
mod llm;
mod merchant;
mod notify;
mod per_ip;
mod phrases;
mod queue;
mod requests;
mod routing;
mod security;
mod stats;
mod team;
