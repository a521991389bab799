//! Integration tests: the emulator over real HTTP on loopback port 0, and the built
//! binary. One test binary, so everything links once.

mod hostile_server;
mod support;

mod action_calls;

mod check_command;
mod cli_sim;
mod console_pty;
mod container_image;
mod control_channel;
mod hostile_input;
mod mutants;
mod plan_command;
mod playbook_model;
mod run_actions;
mod run_bad_input;
mod run_clock;
mod run_feed;
mod run_hostile;
mod run_lifecycle;
mod run_lock_scope;
mod run_names;
mod run_operator;
mod run_reporting;
mod run_resilience;
mod run_rules;
mod run_scenes;
mod run_secrets;
mod run_selection;
mod run_signals;
mod run_timeline;
mod run_unattended;
mod run_waiting;
mod schedule_command;
mod sim_admin;
mod sim_control;
mod sim_control_effects;
mod sim_faults;
mod sim_feed;
mod sim_hardening;
mod sim_lifecycle;
mod sim_props;
mod sim_rules;
mod sim_token;
mod sim_waiting;
mod status_command;
mod status_watch;
mod template_check;
mod variables;
mod watch_command;
