"""Everything only training and evaluating a pack needs: the trainer, losses, VGG,
data, the quality measure and its Gatys reference, sample sheets."""
