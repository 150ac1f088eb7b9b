package app

// RemoveBackupLeftovers is what serve runs at start, for the tests.
var RemoveBackupLeftovers = removeBackupLeftovers
