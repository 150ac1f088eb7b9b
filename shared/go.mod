module chancery/shared

go 1.26
