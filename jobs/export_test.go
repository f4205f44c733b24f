package jobs

// PhonePartition exposes phonePartition to the package's external tests.
var PhonePartition = phonePartition
