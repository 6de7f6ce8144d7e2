"""lr_finder"""
