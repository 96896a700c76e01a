"""PushGate: which model, if any, the Pusher pushes: the candidate, or the supervised reference."""
