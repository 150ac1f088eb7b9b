module chancery/sync

go 1.26.0
