// Shutdown signals: block them in every thread, then wait for one in main.
#pragma once

namespace herald {

// Call first thing in main, before any thread starts, so SIGINT/SIGTERM/SIGHUP are delivered only
// to wait_for_shutdown_signal(). SIGPIPE is ignored (peers close sockets mid-write).
void block_shutdown_signals();

// Blocks until SIGINT or SIGTERM arrives; returns its number.
int wait_for_shutdown_signal();

}  // namespace herald
