package app

// RemoveBackupLeftovers is what serve runs at start, for the tests.
var RemoveBackupLeftovers = removeBackupLeftovers

// ServiceLine is the command line service install registers.
var ServiceLine = serviceLine
