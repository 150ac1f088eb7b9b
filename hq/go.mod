module chancery/hq

go 1.26.0
