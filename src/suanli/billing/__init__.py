"""Layer 1: pure money logic: pricing, metering, vouchers as policy, the ledger rules."""
