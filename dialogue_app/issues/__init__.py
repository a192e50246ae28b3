"""Issues raised by businesses, their workflow, deadlines, ratings and answers."""
