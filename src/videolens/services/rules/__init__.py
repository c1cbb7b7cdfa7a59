"""Bucket rules: start a job when an object lands in a bucket."""
