"""Test helpers shipped with scisync: pytest fixtures users' own test suites can use too."""
