"""Protocol cards: structured questioning to a determinant and pre-arrival instructions (format
`desktop.cards.model`, flow `desktop.cards.flow`, checks `desktop.cards.check`, loading
`desktop.cards.library`, scripts `desktop.cards.scripts`). Qt-free."""
