"""AWS plumbing every AWS target shares (ECS, App Runner, ECS Express Mode): one client
factory on the standard credential chain, AWS errors as the tool's errors, secret
references, the lock and ledger in S3, and a CloudWatch Logs reader.

Nothing here imports boto3 at module load except :mod:`clients` (and only inside
functions), so ``invoke --list`` stays fast.
"""
