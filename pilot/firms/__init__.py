"""firms"""
