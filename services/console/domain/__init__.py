"""The console's rules: accounts (who may sign in, with what role and scope) and sign-in codes."""
