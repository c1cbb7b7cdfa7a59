"""The auth capability: access keys for SigV4-signed AWS-compatible requests."""
