"""Strategy sessions: pure rules, staking plans and the decision engine (DESIGN: sessions)."""
